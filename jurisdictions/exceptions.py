"""Domain errors of the jurisdictions package; the API maps each to one HTTP status."""

from __future__ import annotations

from shudi.exceptions import DomainError


class JurisdictionError(DomainError):
    """Base class of the jurisdictions domain's errors."""

    code = "jurisdiction_error"


class InvalidCoordinates(JurisdictionError):
    """Coordinates that are not numbers, out of range, or plainly swapped."""

    code = "invalid_coordinates"


class OutsideServiceArea(JurisdictionError):
    """The point lies in no town of the district."""

    code = "outside_service_area"


class UnknownLayer(JurisdictionError):
    """A layer name that the store does not have."""

    code = "unknown_layer"


class GenerationNotFound(JurisdictionError):
    """No boundary generation with that id."""

    code = "generation_not_found"


class NoActiveGeneration(JurisdictionError):
    """A layer that has no active generation at the time asked for."""

    code = "no_active_generation"


class BoundaryImportRejected(JurisdictionError):
    """A boundary file failed validation; nothing was stored."""

    code = "boundary_import_rejected"


class TooManyFeatures(JurisdictionError):
    """A listing that would exceed the page cap; the caller must narrow it."""

    code = "too_many_features"


class TooManyPoints(JurisdictionError):
    """A batch larger than allowed."""

    code = "too_many_points"


class InvalidTile(JurisdictionError):
    """A vector tile address that is not a tile: z, x or y not whole numbers, or z past the
    deepest zoom served."""

    code = "invalid_tile"


class TileOutOfRange(JurisdictionError):
    """x or y outside the 2^z × 2^z grid of zoom z: no such tile."""

    code = "tile_out_of_range"


class UnknownCollection(JurisdictionError):
    """A vector tile collection the app does not serve."""

    code = "unknown_collection"
