# The edge image: the compose nginx with the static frontend baked in (compose bind-mounts it instead).
# Its config comes from the edge-nginx ConfigMap. The build context is frontend/:
#   docker build -f deploy/k8s/edge.Dockerfile -t home-rental-platform/edge:TAG frontend
FROM nginx:1.27.5-alpine
COPY . /usr/share/nginx/html
USER 101:101
EXPOSE 8080 5001
