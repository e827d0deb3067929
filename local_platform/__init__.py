"""The platform on this machine: the app started as Cloud Foundry starts it, with its services.

What `cf push` does with manifest.yml: run applications[0].command through `bash -c` in
the app's directory, with the manifest's `env:`, the port in PORT, VCAP_APPLICATION, and
each service of example_app/bindings.py started by its kind and bound through
VCAP_SERVICES. The service tier, the e2e tier and the local delivery all deploy this way.

- processes.py: a server in a session of its own, stopped with all it started;
- services.py: one class per kind of service (Redis, a downstream service over HTTP);
  a fork adds a kind there;
- app.py: the app's environment and process;
- stage.py: one space (staging, production): its services, kept across pushes, and at
  most one running release of the app on a fixed URL.

Unlike the platform: one instance, listening on 127.0.0.1 only, and a push stops the old
release before it starts the new one (no router to switch traffic between them).
"""
