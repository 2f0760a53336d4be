"""Domain errors of the OGC API; ``api/errors.py`` maps each to one HTTP status."""

from __future__ import annotations

from shudi.exceptions import DomainError


class OgcError(DomainError):
    """Base class of the OGC API's errors."""

    code = "ogc_error"


class InvalidParameter(OgcError):
    """A query parameter the API does not define for this resource, or a bad value (400, as
    OGC API – Features requires)."""

    code = "invalid_parameter"


class CollectionNotFound(OgcError):
    """No collection of that id (or one the caller may not know of)."""

    code = "collection_not_found"


class FeatureNotFound(OgcError):
    """No feature of that id in the collection (or one the caller may not see)."""

    code = "feature_not_found"


class CollectionForbidden(OgcError):
    """A logged-in user whose role sees no features of this collection (403)."""

    code = "forbidden"
