"""Yuqing (舆情): multimodal public-opinion monitoring pipeline.

The core package holds what every stage shares: settings, stage contracts,
storage, database, errors, the Celery app and the CLI that wires stages.
"""

__version__ = "0.1.0"
