"""The API's JSON parser. DRF's own reads the body with `json.load`, which answers a body nested
100,000 levels deep with RecursionError (a 500); this one reads through `portal.json_input`."""

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from portal.json_input import JsonInputError, json_input_parse


class JsonBodyParser(JSONParser):
    """UTF-8 JSON only, whatever charset the request declares (RFC 8259 section 8.1). DRF hands it
    `request.body`, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE bounds what is read."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        try:
            return json_input_parse(raw=stream.read())
        except JsonInputError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
