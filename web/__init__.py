"""The web console (a backend-for-frontend): pages in a browser over the services' HTTP APIs."""
