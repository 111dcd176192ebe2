"""The loss lab: train real models with competing losses and report what actually happened.

``losskit compare TASK`` trains one task's model once per loss and per seed and writes a report;
``losskit tour`` runs every built-in task. The lab sits on top of losskit: it imports the losses,
the catalogue and the command-line helpers, and nothing in losskit imports it. It needs the ``lab``
extra (torch, scikit-learn, matplotlib, rich).
"""
