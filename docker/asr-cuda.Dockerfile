# syntax=docker/dockerfile:1.7
# The ASR worker for GPU nodes: the app image plus the CUDA 12 cuBLAS and cuDNN 9 libraries
# CTranslate2 (faster-whisper) loads for device=cuda, from their PyPI wheels. The NVIDIA driver
# (>= 525, CUDA 12) comes from the node through the NVIDIA container runtime.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS cuda-libs
ARG CUBLAS_VERSION=12.9.3.13
ARG CUDNN_VERSION=9.27.0.42
RUN pip install --no-cache-dir --disable-pip-version-check --target /opt/cuda-libs \
      "nvidia-cublas-cu12==${CUBLAS_VERSION}" "nvidia-cudnn-cu12==${CUDNN_VERSION}"

# "app" is the app image (see crawler.Dockerfile for a build without bake).
FROM app AS runtime
COPY --from=cuda-libs /opt/cuda-libs/nvidia /opt/cuda-libs/nvidia
ENV LD_LIBRARY_PATH=/opt/cuda-libs/nvidia/cublas/lib:/opt/cuda-libs/nvidia/cudnn/lib \
    YQ_ASR__DEVICE=cuda \
    YQ_ASR__COMPUTE_TYPE=float16
USER 10001:10001
