# Builds every image the Helm chart (k8s/) uses, from the repository root:
#   REGISTRY=registry.example.com/yuqing TAG=0.1.0 docker buildx bake -f docker/docker-bake.hcl --push
# The crawler, spark and asr-cuda images start from the app image built here ("target:app").

variable "REGISTRY" { default = "ghcr.io/your-org" }
variable "TAG" { default = "0.1.0" }

group "default" {
  targets = ["app", "crawler", "spark", "asr-cuda"]
}

target "_common" {
  context   = "."
  platforms = ["linux/amd64"]
}

target "app" {
  inherits   = ["_common"]
  dockerfile = "docker/app.Dockerfile"
  tags       = ["${REGISTRY}/yuqing-app:${TAG}"]
}

target "crawler" {
  inherits   = ["_common"]
  dockerfile = "docker/crawler.Dockerfile"
  contexts   = { app = "target:app" }
  tags       = ["${REGISTRY}/yuqing-crawler:${TAG}"]
}

target "spark" {
  inherits   = ["_common"]
  dockerfile = "docker/spark.Dockerfile"
  contexts   = { app = "target:app" }
  tags       = ["${REGISTRY}/yuqing-spark:${TAG}"]
}

target "asr-cuda" {
  inherits   = ["_common"]
  dockerfile = "docker/asr-cuda.Dockerfile"
  contexts   = { app = "target:app" }
  tags       = ["${REGISTRY}/yuqing-asr-cuda:${TAG}"]
}
