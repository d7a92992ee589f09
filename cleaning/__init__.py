"""Clean stage: raw documents and transcripts → de-duplicated ``CleanDocument`` Parquet (PySpark).

Entry points: ``cleaning.job.run_clean`` (and ``python -m cleaning.job``),
``cleaning.session.build_spark``, and ``cleaning.results.read_clean_documents`` to
load the output without Spark.

Modules: ``text`` and ``minhash`` (pure Python/numpy, one document at a time),
``graph`` (connected components), ``schema`` (contracts → Spark types),
``transforms`` (DataFrame → DataFrame), ``extract``/``load``/``fs`` (I/O through
Spark and Hadoop), ``index`` (the stored de-duplication index that incremental runs
read instead of old documents), ``report`` (the run report).
"""
