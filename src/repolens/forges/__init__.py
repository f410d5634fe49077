"""Git hosting: GitHub, GitLab and Gitea/Forgejo webhooks in, pull-request
feedback out."""
