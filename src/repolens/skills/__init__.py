"""Tech-stack ("skills") extraction from manifests, build and CI files."""
