"""The bounce mailbox: read over IMAP, each message classified (flufl.bounce and the
RFC 3464 / RFC 5965 report formats) into a ``domain.bounces.BounceReport``."""

from infrastructure.bounces.classify import BounceClassifier

__all__ = ["BounceClassifier"]
