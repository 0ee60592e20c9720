"""The early-warning engine, pure: rule packs (``rules``), evaluation of rules over signals
(``evaluate``) and the warning lifecycle (``lifecycle``). The scheduler tick that feeds it from the
warehouse and persists its transitions lives in ``cityops.alerting``."""
