# syntax=docker/dockerfile:1.7
# The cleaning job's driver and executors: the app image (PySpark 4.3 with its jars) plus Java
# 17, the hadoop-aws jars that read s3a:// paths, and the entry point Spark on Kubernetes runs.
# "app" is the app image (see crawler.Dockerfile for a build without bake).
ARG HADOOP_AWS_VERSION=3.5.0

# --- jars: hadoop-aws matching PySpark's Hadoop (3.5.0) and the AWS SDK bundle it was built
# against, resolved from its POM by Spark's own --packages (Ivy), so the pair always agrees.
FROM app AS jars
ARG HADOOP_AWS_VERSION
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
 && rm -rf /var/lib/apt/lists/*
RUN echo "" > /tmp/noop.py \
 && spark-submit --master "local[1]" --conf spark.jars.ivy=/tmp/ivy \
      --packages "org.apache.hadoop:hadoop-aws:${HADOOP_AWS_VERSION}" /tmp/noop.py \
 && mkdir -p /opt/s3a-jars && cp /tmp/ivy/jars/*.jar /opt/s3a-jars/ \
 && ls -l /opt/s3a-jars

# --- runtime ----------------------------------------------------------------------------------
FROM app AS runtime
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless procps \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s "$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")" /opt/java
COPY --from=jars /opt/s3a-jars/ /opt/venv/lib/python3.11/site-packages/pyspark/jars/
COPY --chmod=0755 docker/spark/entrypoint.sh /opt/yuqing/spark-entrypoint.sh
COPY --chmod=0644 docker/spark/clean_job.py /opt/yuqing/clean_job.py
ENV JAVA_HOME=/opt/java \
    SPARK_HOME=/opt/venv/lib/python3.11/site-packages/pyspark \
    PYSPARK_PYTHON=/opt/venv/bin/python \
    PYSPARK_DRIVER_PYTHON=/opt/venv/bin/python
USER 10001:10001
ENTRYPOINT ["/opt/yuqing/spark-entrypoint.sh"]
