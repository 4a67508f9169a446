"""JSON Schemas of the three Spotify answers the site reads, from Spotify's OpenAPI description.

`spotify_data/open_api_schemas.json` holds the component schemas of fixed-spotify-open-api.yml
(spec version 2026.5.31) that the search, playlist and playlist-items answers use, as the spec
has them; regenerate it (with PyYAML installed) by
`python -m tests.fakes.spotify_schemas PATH/TO/fixed-spotify-open-api.yml`.
`response_schema(name)` turns one into plain JSON Schema for hypothesis-jsonschema: `$ref`s
inlined, `allOf` extensions merged, `nullable: true` as a null alternative, `oneOf` (Spotify's
`TrackObject | EpisodeObject`, told apart by `type`) as `anyOf`, and the documentation keywords
dropped.
"""

import argparse
import copy
import json
from pathlib import Path

from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

DATA_FILE = Path(__file__).with_name("spotify_data") / "open_api_schemas.json"
# What the site asks Spotify for, and the spec's schema of each answer.
RESPONSES = {
    "search": "PagingPlaylistObject",  # under "playlists": the site searches type=playlist only
    "playlist": "PlaylistObject",
    "items": "PagingPlaylistTrackObject",
}
KEPT_KEYWORDS = {
    "type",
    "properties",
    "required",
    "items",
    "allOf",
    "anyOf",
    "oneOf",
    "enum",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "pattern",
    "additionalProperties",
}
# The spec documents ids as base62 Spotify IDs (concepts/spotify-uris-ids) but types them as any
# string; generated playlists get ids of that form so they reach the pages instead of being
# skipped as unusable.
SPOTIFY_ID = {"type": "string", "pattern": "^[A-Za-z0-9]{22}$"}


def extract(spec_path):
    """The component schemas the three answers reach, from the spec file at `spec_path`."""
    import yaml  # PyYAML: only needed to regenerate the data file

    spec = yaml.safe_load(Path(spec_path).read_text(encoding="utf-8"))
    schemas = spec["components"]["schemas"]
    wanted, pending = {}, list(RESPONSES.values())
    while pending:
        name = pending.pop()
        if name in wanted:
            continue
        wanted[name] = schemas[name]
        pending.extend(_refs(schemas[name]))
    return {"spec_version": spec["info"]["version"], "schemas": dict(sorted(wanted.items()))}


def _refs(node):
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            yield ref.rsplit("/", 1)[1]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def response_schema(name, *, spotify_ids=False):
    """Plain JSON Schema of the answer `name` ("search", "playlist" or "items").

    With `spotify_ids`, playlist ids are base62 Spotify IDs (see SPOTIFY_ID)."""
    schemas = json.loads(DATA_FILE.read_text(encoding="utf-8"))["schemas"]
    schema = _convert({"$ref": f"#/components/schemas/{RESPONSES[name]}"}, schemas)
    if spotify_ids and name in ("search", "playlist"):
        schema = _with_playlist_ids(schema, name)
    if name == "search":
        schema = {"type": "object", "required": ["playlists"], "properties": {"playlists": schema}}
    return schema


def _convert(node, schemas):
    if isinstance(node, list):
        return [_convert(value, schemas) for value in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _convert(schemas[node["$ref"].rsplit("/", 1)[1]], schemas)
    converted = {}
    for key, value in node.items():
        if key == "properties":
            converted[key] = {prop: _convert(sub, schemas) for prop, sub in value.items()}
        elif key in KEPT_KEYWORDS:
            converted["anyOf" if key == "oneOf" else key] = _convert(value, schemas)
    if "allOf" in converted:
        converted = _merge_all_of(converted)
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def _merge_all_of(schema):
    """`allOf` of object schemas as one object schema (the spec only uses it to extend objects):
    the same instances, and far quicker for hypothesis-jsonschema to draw from."""
    merged = {key: value for key, value in schema.items() if key != "allOf"}
    for part in schema["allOf"]:
        for key, value in part.items():
            if key == "properties":
                merged.setdefault("properties", {}).update(value)
            elif key == "required":
                merged["required"] = sorted({*merged.get("required", []), *value})
            elif key in merged and merged[key] != value:
                return schema  # not a plain extension: leave it to hypothesis-jsonschema
            else:
                merged[key] = value
    return merged


def _with_playlist_ids(schema, name):
    schema = copy.deepcopy(schema)
    if name == "playlist":
        schema.setdefault("properties", {})["id"] = SPOTIFY_ID
        schema.setdefault("required", []).append("id")
        return schema
    # A paging object whose items are playlists.
    items = schema["properties"]["items"]
    items["items"] = _with_playlist_ids(items["items"], "playlist")
    return schema


def answers(name, *, spotify_ids=False):
    """A Hypothesis strategy for the answers the spec allows for `name` (see response_schema).

    hypothesis-jsonschema draws every leaf (integers of any size, enums, patterns, nulls); objects
    and arrays are put together here with fixed_dictionaries and lists, which draws the same
    instances as from_schema on the whole but twenty times faster (it re-canonicalises every
    nested schema on every draw). Objects may also carry a property the spec does not name (it
    allows them), and strings hold any code point, lone surrogates and controls included.
    """
    return _strategy(response_schema(name, spotify_ids=spotify_ids))


# The spec's objects allow properties it does not name, holding any JSON value (kept small).
UNNAMED_PROPERTY = "x-not-in-the-spec"
_ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)


def _strategy(schema):
    if "anyOf" in schema:
        return st.one_of([_strategy(option) for option in schema["anyOf"]])
    kind = schema.get("type")
    if kind == "object" and "properties" in schema:
        required = set(schema.get("required", ()))
        properties = {key: _strategy(value) for key, value in schema["properties"].items()}
        optional = {key: value for key, value in properties.items() if key not in required}
        return st.fixed_dictionaries(
            {key: value for key, value in properties.items() if key in required},
            optional={**optional, UNNAMED_PROPERTY: _ANY_JSON},
        )
    if kind == "array" and "items" in schema:
        return st.lists(_strategy(schema["items"]), max_size=6)
    if schema == {"type": "string"}:
        return st.text(st.characters(exclude_categories=()), max_size=40)
    return from_schema(schema)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", help="path to fixed-spotify-open-api.yml")
    args = parser.parse_args(argv)
    text = json.dumps(extract(args.spec), indent=1, sort_keys=True, default=str)
    DATA_FILE.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {DATA_FILE}")


if __name__ == "__main__":
    main()
