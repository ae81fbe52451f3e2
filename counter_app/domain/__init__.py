"""The pure rules of the counter: policy-pack models, filing and claim rules, money, working
days, regions and 身份证号 checks.

Nothing here does IO or imports Textual, SQL, reportlab or escpos; callers load the data
(``counter_app.packs``) and hand it in.
"""
