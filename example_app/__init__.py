"""example-app: a twelve-factor Falcon microservice, made to be forked."""

__version__ = "0.1.0"
