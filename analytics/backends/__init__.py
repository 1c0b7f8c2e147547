"""Other engines that run the warehouse's DuckDB SQL unchanged (see docs/scale.md).

* :mod:`analytics.backends.spark`: :class:`~analytics.backends.spark.SparkWarehouse` reads a
  Parquet export (``eqm export parquet DIR``) and runs the same ``$name``-parameterised DuckDB
  SQL on Apache Spark, transpiled by SQLGlot. Needs the optional extra ``eqm[spark]``.
"""
