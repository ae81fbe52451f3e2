"""The generic wizard: ``WizardStep[State, Result]`` screens, one state round trip through drafts,
one verdict pane and one commit path; the filing (``ui/filings``) and claim (``ui/claims``) flows
are its two users."""
