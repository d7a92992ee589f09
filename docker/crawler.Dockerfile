# syntax=docker/dockerfile:1.7
# Crawl workers and crawl CronJobs: the app image plus headless Chromium and chromedriver from
# the pinned Debian release (render: true sources; crawlers/rendering.py).
# "app" is the app image: a bake target (docker/docker-bake.hcl), or for a plain build
#   docker build --build-context app=docker-image://REGISTRY/yuqing-app:TAG -f docker/crawler.Dockerfile .
FROM app AS runtime
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium chromium-driver fonts-noto-cjk \
 && rm -rf /var/lib/apt/lists/*
# Selenium Manager must not look for browsers or drivers on the network.
ENV SE_OFFLINE=true \
    SE_AVOID_STATS=true \
    YQ_CRAWL__CHROMIUM_PATH=/usr/bin/chromium \
    YQ_CRAWL__CHROMEDRIVER_PATH=/usr/bin/chromedriver
USER 10001:10001
