"""Format registry. Importing this package registers every format module listed below."""
from adapterstilts.formats.base import FORMATS, Format, get_format, register_format
from adapterstilts.formats import classification, multiple_choice, qa, tagging  # noqa: F401,E402
from adapterstilts.formats import dual_encoder  # noqa: F401,E402  (trained retrieval: Mewsli-X, LAReQA)

__all__ = ["FORMATS", "Format", "get_format", "register_format"]
