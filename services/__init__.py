"""HaiZhi services: application, review, assessment, funding."""
