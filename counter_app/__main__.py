"""``python -m counter_app`` runs the ``counter-app`` command."""

from counter_app.launch import main

main()
