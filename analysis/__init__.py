"""Analysis stage: sentiment, entities, evidence and risk for clean documents."""
