"""A local stand-in for an OpenSearch Service domain: only the endpoints the shop calls, strictly.

No OpenSearch server can be installed on these machines, so the search code is tested against
this: an HTTP server that implements exactly the requests shop.search makes and answers them with
OpenSearch's response shapes, and that refuses what OpenSearch's documented API refuses, with
OpenSearch's status and error type (docs.opensearch.org, API reference: index document, bulk,
get document, search, create index, aliases, get alias, refresh, delete index):

- SigV4: with credentials given, every request must carry a valid AWS Signature Version 4 for the
  `es` service (checked with botocore, as the domain checks it) and a matching payload hash; else 403.
- Index names (lowercase, no `_ - +` first, none of `\\ / * ? " < > | , # :` or spaces), an index or
  alias name already taken, unknown settings, mapping types and mapping parameters: 400.
- Documents against `dynamic: strict` mappings (an unmapped field, a value of the wrong type): 400.
- External versioning: a version at or below the stored one is a 409 conflict (`external_gte`:
  below); an external version type without a version, or a version with internal versioning: 400.
- `require_alias=true` with a target that is not an alias: 404; a write to an alias with several
  indexes and no write index: 400; a write to a missing index without it: the index is auto-created
  (as OpenSearch does, with no mapping: the trap `require_alias` avoids).
- Search: unknown body keys and query clauses, a query type's unknown parameters, `from` < 0,
  `from + size` beyond `index.max_result_window` (10,000), sorting on a text field or an unmapped
  one: 400; a missing index: 404.
- An unknown query-string parameter for an endpoint: 400, as OpenSearch's REST layer answers.

A valid request the stand-in does not implement (another endpoint, a query type like
`query_string`, a mapping type like `nested`) gets 501, so a test can never pass by silently
getting something OpenSearch would do differently. Relevance is deliberately simple (term counts
per field times the field's boost; `best_fields` takes the best field, `cross_fields` each term's
best field), and documents are
searchable at once (OpenSearch makes them visible at the next refresh, within a second): what
only a real domain shows is listed in docs/storefront.md.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

MAX_RESULT_WINDOW = 10_000
_ILLEGAL_INDEX_CHARS = set('\\/*?"<>| ,#:')
_TEXT_TYPES = {"text"}
_IMPLEMENTED_TYPES = {"text", "keyword", "long", "integer", "boolean", "date", "object"}
_KNOWN_TYPES = _IMPLEMENTED_TYPES | {
    "nested", "short", "byte", "double", "float", "half_float", "scaled_float", "unsigned_long", "binary",
    "date_nanos", "ip", "geo_point", "geo_shape", "completion", "search_as_you_type", "flat_object",
    "knn_vector", "rank_feature", "rank_features", "alias", "join", "percolator", "token_count",
    "integer_range", "long_range", "float_range", "double_range", "date_range", "ip_range", "match_only_text",
    "wildcard", "constant_keyword"}
_TYPE_PARAMS = {
    "text": {"analyzer", "search_analyzer", "fields", "index", "store", "boost", "norms", "similarity",
             "index_options", "position_increment_gap", "search_quote_analyzer", "term_vector", "fielddata",
             "copy_to", "meta"},
    "keyword": {"ignore_above", "index", "doc_values", "store", "null_value", "normalizer", "fields", "boost",
                "eager_global_ordinals", "norms", "similarity", "index_options",
                "split_queries_on_whitespace", "copy_to", "meta"},
    "long": {"coerce", "index", "doc_values", "null_value", "store", "ignore_malformed", "boost", "meta"},
    "integer": {"coerce", "index", "doc_values", "null_value", "store", "ignore_malformed", "boost", "meta"},
    "boolean": {"index", "doc_values", "null_value", "store", "boost", "meta"},
    "date": {"format", "index", "doc_values", "null_value", "store", "ignore_malformed", "boost", "locale",
             "meta"},
    "object": {"properties", "dynamic", "enabled"},
}
_INDEX_SETTINGS = {"number_of_shards", "number_of_replicas", "refresh_interval", "max_result_window"}
_ROOT_MAPPING_KEYS = {"dynamic", "properties", "_source", "_meta", "date_detection", "numeric_detection",
                      "dynamic_templates", "_routing"}
_IMPLEMENTED_QUERIES = {"bool", "multi_match", "match_all", "term", "terms", "ids"}
_KNOWN_QUERIES = _IMPLEMENTED_QUERIES | {
    "query_string", "simple_query_string", "match", "match_phrase", "match_phrase_prefix",
    "match_bool_prefix",
    "prefix", "wildcard", "regexp", "fuzzy", "range", "exists", "nested", "function_score", "dis_max",
    "constant_score", "boosting", "terms_set", "geo_distance", "geo_bounding_box", "geo_shape",
    "more_like_this",
    "script", "script_score", "has_child", "has_parent", "intervals", "span_term", "distance_feature",
    "rank_feature", "wrapper", "percolate", "knn", "neural", "hybrid", "match_none"}
_SEARCH_BODY_IMPLEMENTED = {"query", "from", "size", "sort", "_source", "track_total_hits"}
_SEARCH_BODY_KNOWN = _SEARCH_BODY_IMPLEMENTED | {
    "aggs", "aggregations", "highlight", "post_filter", "min_score", "timeout", "terminate_after",
    "search_after", "explain", "version", "seq_no_primary_term", "stored_fields", "docvalue_fields",
    "fields", "script_fields", "suggest", "collapse", "rescore", "indices_boost", "stats", "profile",
    "track_scores", "pit", "slice", "ext"}
_MULTI_MATCH_IMPLEMENTED = {"query", "fields", "type", "operator", "boost", "tie_breaker"}
_MULTI_MATCH_KNOWN = _MULTI_MATCH_IMPLEMENTED | {
    "analyzer", "minimum_should_match", "fuzziness", "prefix_length", "max_expansions", "fuzzy_rewrite",
    "fuzzy_transpositions", "lenient", "zero_terms_query", "cutoff_frequency",
    "auto_generate_synonyms_phrase_query", "slop", "_name"}
_MULTI_MATCH_TYPES = {"best_fields", "most_fields", "cross_fields", "phrase", "phrase_prefix", "bool_prefix"}
_COMMON_PARAMS = {"pretty", "human", "error_trace", "filter_path", "source"}
_ENDPOINT_PARAMS = {
    "index": {"version", "version_type", "require_alias", "refresh", "op_type", "routing", "timeout",
              "if_seq_no", "if_primary_term", "pipeline", "wait_for_active_shards"},
    "get": {"routing", "preference", "realtime", "refresh", "_source", "_source_includes", "_source_excludes",
            "stored_fields", "version", "version_type"},
    "search": {"from", "size", "q", "routing", "preference", "timeout", "track_total_hits",
               "allow_no_indices", "ignore_unavailable", "expand_wildcards", "search_type", "request_cache",
               "rest_total_hits_as_int", "typed_keys", "_source", "sort", "scroll"},
    "bulk": {"refresh", "routing", "timeout", "pipeline", "require_alias", "wait_for_active_shards",
             "_source", "_source_includes", "_source_excludes"},
    "create_index": {"timeout", "master_timeout", "cluster_manager_timeout", "wait_for_active_shards"},
    "delete_index": {"timeout", "master_timeout", "cluster_manager_timeout", "allow_no_indices",
                     "expand_wildcards", "ignore_unavailable"},
    "aliases": {"timeout", "master_timeout", "cluster_manager_timeout"},
    "get_alias": {"allow_no_indices", "expand_wildcards", "ignore_unavailable", "local"},
    "refresh": {"allow_no_indices", "expand_wildcards", "ignore_unavailable"},
    "info": set(),
}


class OpenSearchError(Exception):
    def __init__(self, status: int, kind: str, reason: str, **extra: Any) -> None:
        super().__init__(reason)
        self.status, self.kind, self.reason, self.extra = status, kind, reason, extra

    def body(self) -> dict[str, Any]:
        cause = {"type": self.kind, "reason": self.reason, **self.extra}
        return {"error": {"root_cause": [cause], **cause}, "status": self.status}


class NotImplementedByStandIn(OpenSearchError):
    def __init__(self, what: str) -> None:
        super().__init__(501, "not_implemented_by_stand_in",
                         f"{what} is valid OpenSearch but not implemented "
                         "by the test stand-in (tests/support/opensearch.py)")


def _bad(kind: str, reason: str) -> OpenSearchError:
    return OpenSearchError(400, kind, reason)


@dataclass
class Index:
    name: str
    mappings: dict[str, Any]
    settings: dict[str, Any]
    docs: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    seq_no: int = 0

    @property
    def max_result_window(self) -> int:
        return int(self.settings.get("max_result_window", MAX_RESULT_WINDOW))

    def field_mapping(self, path: str) -> dict[str, Any] | None:
        """The mapping of a dotted field path, multi-fields (`name.raw`) included."""
        node: dict[str, Any] | None = {"properties": self.mappings.get("properties", {})}
        parts = path.split(".")
        for index, part in enumerate(parts):
            if node is None:
                return None
            child = (node.get("properties") or {}).get(part)
            if child is None and index > 0:
                child = (node.get("fields") or {}).get(part)
            node = child
        return node


# ----------------------------------------------------------------------------------------------
# Validation of names, settings, mappings and documents


def validate_index_name(name: str) -> None:
    problem = ""
    if name != name.lower():
        problem = "must be lowercase"
    elif name[:1] in ("_", "-", "+"):
        problem = "must not start with '_', '-', or '+'"
    elif name in (".", ".."):
        problem = "must not be '.' or '..'"
    elif _ILLEGAL_INDEX_CHARS & set(name):
        problem = 'must not contain the following characters [ , ", *, \\, <, |, ,, >, /, ?, #, :]'
    elif len(name.encode()) > 255:
        problem = "index name is too long"
    if problem:
        raise _bad("invalid_index_name_exception", f"Invalid index name [{name}], {problem}")


def _validate_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in settings.items():
        if key == "index" and isinstance(value, Mapping):
            for inner, inner_value in value.items():
                flat[inner] = inner_value
        else:
            flat[key.removeprefix("index.")] = value
    for key, value in flat.items():
        if key not in _INDEX_SETTINGS:
            raise _bad("illegal_argument_exception", f"unknown setting [index.{key}] please check that any "
                       "required plugins are installed, or check the breaking changes documentation for "
                       "removed settings")
        if key in ("number_of_shards", "number_of_replicas", "max_result_window"):
            try:
                number = int(value)
            except (TypeError, ValueError):
                raise _bad("illegal_argument_exception",
                           f"Failed to parse value [{value}] for setting [index.{key}]") from None
            if number < (1 if key == "number_of_shards" else 0):
                raise _bad("illegal_argument_exception",
                           f"Failed to parse value [{value}] for setting [index.{key}] must be >= "
                           f"{1 if key == 'number_of_shards' else 0}")
    return flat


def _validate_field(name: str, spec: Any) -> None:
    if not isinstance(spec, Mapping):
        raise _bad("mapper_parsing_exception",
                   f"Expected map for property [fields] on field [{name}] but got a "
                   f"class {type(spec).__name__}")
    kind = spec.get("type", "object" if "properties" in spec else None)
    if kind is None:
        raise _bad("mapper_parsing_exception", f"No type specified for field [{name}]")
    if kind not in _KNOWN_TYPES:
        raise _bad("mapper_parsing_exception", f"No handler for type [{kind}] declared on field [{name}]")
    if kind not in _IMPLEMENTED_TYPES:
        raise NotImplementedByStandIn(f"the mapping type [{kind}]")
    for parameter in spec:
        if parameter != "type" and parameter not in _TYPE_PARAMS[kind]:
            raise _bad("mapper_parsing_exception",
                       f"unknown parameter [{parameter}] on mapper [{name}] of type [{kind}]")
    if kind == "keyword" and "ignore_above" in spec and not isinstance(spec["ignore_above"], int):
        raise _bad("mapper_parsing_exception", f"Failed to parse [ignore_above] on [{name}]")
    for sub, sub_spec in (spec.get("fields") or {}).items():
        _validate_field(f"{name}.{sub}", sub_spec)
    for child, child_spec in (spec.get("properties") or {}).items():
        _validate_field(f"{name}.{child}", child_spec)


def _validate_mappings(mappings: Any) -> dict[str, Any]:
    if not isinstance(mappings, Mapping):
        raise _bad("mapper_parsing_exception", "Failed to parse mapping: mappings must be an object")
    unsupported = [key for key in mappings if key not in _ROOT_MAPPING_KEYS]
    if unsupported:
        raise _bad("mapper_parsing_exception", f"Root mapping definition has unsupported parameters:  "
                   f"[{unsupported[0]} : {json.dumps(mappings[unsupported[0]])}]")
    if mappings.get("dynamic", True) not in (True, False, "true", "false", "strict",
                                             "strict_allow_templates"):
        raise _bad("mapper_parsing_exception",
                   f"Could not convert [dynamic] to boolean: {mappings['dynamic']}")
    for name, spec in (mappings.get("properties") or {}).items():
        _validate_field(name, spec)
    return dict(mappings)


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:?\d{2})?)?$")


def _check_value(path: str, kind: str, value: Any) -> None:
    def fail() -> OpenSearchError:
        return _bad("mapper_parsing_exception",
                    f"failed to parse field [{path}] of type [{kind}] in document")

    if value is None:
        return
    if isinstance(value, list):
        for item in value:
            _check_value(path, kind, item)
        return
    if kind in ("text", "keyword"):
        if isinstance(value, Mapping):
            raise fail()
    elif kind in ("long", "integer"):
        if isinstance(value, bool) or isinstance(value, Mapping):
            raise fail()
        if isinstance(value, str):
            try:
                int(value)
            except ValueError:
                raise fail() from None
        limit = 2 ** 63 if kind == "long" else 2 ** 31
        if isinstance(value, int) and not -limit <= value < limit:
            raise fail()
    elif kind == "boolean":
        if value not in (True, False, "true", "false", ""):
            raise fail()
    elif kind == "date":
        if isinstance(value, str):
            if not _DATE.match(value):
                raise fail()
        elif isinstance(value, bool) or not isinstance(value, int):
            raise fail()


def validate_document(index: Index, document: Any) -> None:
    if not isinstance(document, Mapping):
        raise _bad("mapper_parsing_exception", "failed to parse: the document must be a JSON object")
    _check_object(index.mappings, document, "", index.mappings.get("dynamic", True), "_doc")


def _check_object(mapping: Mapping[str, Any], document: Mapping[str, Any], prefix: str, dynamic: Any,
                  within: str) -> None:
    properties = mapping.get("properties") or {}
    for key, value in document.items():
        path = f"{prefix}{key}"
        if key.startswith("_") and not prefix:
            raise _bad("mapper_parsing_exception",
                       f"Field [{key}] is a metadata field and cannot be added inside "
                       "a document. Use the index API request parameters.")
        spec = properties.get(key)
        if spec is None:
            if dynamic in ("strict", "strict_allow_templates"):
                raise _bad("strict_dynamic_mapping_exception",
                           f"mapping set to strict, dynamic introduction of "
                           f"[{key}] within [{within}] is not allowed")
            continue
        kind = spec.get("type", "object" if "properties" in spec else "object")
        if kind == "object":
            values = value if isinstance(value, list) else [value]
            for item in values:
                if item is None:
                    continue
                if not isinstance(item, Mapping):
                    raise _bad("mapper_parsing_exception",
                               f"object mapping for [{path}] tried to parse field "
                               f"[{key}] as object, but found a concrete value")
                _check_object(spec, item, f"{path}.", spec.get("dynamic", dynamic), path)
        else:
            _check_value(path, kind, value)


# ----------------------------------------------------------------------------------------------
# Search


_TOKEN = re.compile(r"\w+", re.UNICODE)


def tokens(text: Any) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(str(text))] if text is not None else []


def _values(source: Mapping[str, Any], path: str) -> list[Any]:
    """The values at a dotted path of a source document (arrays of objects flattened)."""
    current: list[Any] = [source]
    for part in path.split("."):
        found: list[Any] = []
        for item in current:
            if isinstance(item, Mapping) and part in item:
                value = item[part]
                found += value if isinstance(value, list) else [value]
        current = found
    return [v for v in current if v is not None]


@dataclass(frozen=True)
class Hit:
    index: str
    id: str
    version: int
    source: dict[str, Any]


class _Matcher:
    """Evaluates a query on documents: (matches, score)."""

    def __init__(self, indexes: list[Index]) -> None:
        self.indexes = indexes

    def mapping(self, path: str) -> dict[str, Any] | None:
        for index in self.indexes:
            found = index.field_mapping(path)
            if found is not None:
                return found
        return None

    def field_values(self, hit: Hit, path: str) -> list[Any]:
        if "." in path and self.mapping(path) is not None:
            parent, sub = path.rsplit(".", 1)
            parent_mapping = self.mapping(parent)
            if parent_mapping and sub in (parent_mapping.get("fields") or {}):
                ignore = (parent_mapping["fields"][sub] or {}).get("ignore_above")
                return [v for v in _values(hit.source, parent)
                        if ignore is None or len(str(v)) <= ignore]
        return _values(hit.source, path)

    def evaluate(self, query: Mapping[str, Any], hit: Hit) -> tuple[bool, float]:
        (kind, body), = query.items()
        clause: Callable[[Any, Hit], tuple[bool, float]] = getattr(self, f"_{kind}")
        return clause(body, hit)

    def _match_all(self, body: Any, hit: Hit) -> tuple[bool, float]:
        return True, float(body.get("boost", 1.0)) if isinstance(body, Mapping) else 1.0

    def _ids(self, body: Mapping[str, Any], hit: Hit) -> tuple[bool, float]:
        return hit.id in {str(v) for v in body["values"]}, 1.0

    def _term(self, body: Mapping[str, Any], hit: Hit) -> tuple[bool, float]:
        (path, spec), = body.items()
        wanted = spec.get("value") if isinstance(spec, Mapping) else spec
        return self._term_matches(path, wanted, hit), 1.0

    def _terms(self, body: Mapping[str, Any], hit: Hit) -> tuple[bool, float]:
        (path, wanted), = ((k, v) for k, v in body.items() if k != "boost")
        return any(self._term_matches(path, value, hit) for value in wanted), 1.0

    def _term_matches(self, path: str, wanted: Any, hit: Hit) -> bool:
        mapping = self.mapping(path) or {}
        kind = mapping.get("type", "keyword")
        for value in self.field_values(hit, path):
            if kind == "text" and str(wanted) in tokens(value):
                return True
            if kind == "boolean" and str(value).lower() == str(wanted).lower():
                return True
            if kind in ("long", "integer") and str(int(value)) == str(wanted):
                return True
            if kind in ("keyword", "date") and str(value) == str(wanted):
                return True
        return False

    def _multi_match(self, body: Mapping[str, Any], hit: Hit) -> tuple[bool, float]:
        terms = tokens(body["query"])
        if not terms:
            return False, 0.0
        operator = str(body.get("operator", "or")).lower()
        if body.get("type") == "cross_fields":  # the fields as one: each term in any of them
            best: dict[str, float] = {}
            for entry in body.get("fields") or []:
                path, _, boost = entry.partition("^")
                found = [t for v in self.field_values(hit, path) for t in tokens(v)]
                for term in terms:
                    if term in found:
                        best[term] = max(best.get(term, 0.0), min(found.count(term), 3) * float(boost or 1.0))
            if (operator == "and" and len(best) < len(terms)) or not best:
                return False, 0.0
            return True, sum(best.values()) * float(body.get("boost", 1.0))
        per_field: list[float] = []
        for entry in body.get("fields") or ["*"]:
            path, _, boost = entry.partition("^")
            found = [t for v in self.field_values(hit, path) for t in tokens(v)]
            matched = [term for term in terms if term in found]
            if operator == "and" and len(matched) < len(terms):
                per_field.append(0.0)
                continue
            per_field.append(sum(min(found.count(t), 3) for t in matched) * float(boost or 1.0))
        if body.get("type", "best_fields") == "most_fields":
            score = sum(per_field)
        else:
            top = max(per_field, default=0.0)
            score = top + float(body.get("tie_breaker", 0.0)) * (sum(per_field) - top)
        return score > 0, score * float(body.get("boost", 1.0))

    def _bool(self, body: Mapping[str, Any], hit: Hit) -> tuple[bool, float]:
        def clauses(key: str) -> list[Mapping[str, Any]]:
            value = body.get(key) or []
            return [value] if isinstance(value, Mapping) else list(value)

        score = 0.0
        for clause in clauses("must"):
            ok, s = self.evaluate(clause, hit)
            if not ok:
                return False, 0.0
            score += s
        for clause in clauses("filter"):
            if not self.evaluate(clause, hit)[0]:
                return False, 0.0
        for clause in clauses("must_not"):
            if self.evaluate(clause, hit)[0]:
                return False, 0.0
        should = [self.evaluate(clause, hit) for clause in clauses("should")]
        needed = body.get("minimum_should_match",
                          1 if should and not clauses("must") and not clauses("filter") else 0)
        if sum(ok for ok, _ in should) < int(needed):
            return False, 0.0
        score += sum(s for ok, s in should if ok)
        return True, score * float(body.get("boost", 1.0))


def _validate_query(query: Any, matcher: _Matcher) -> None:
    if not isinstance(query, Mapping) or len(query) != 1:
        raise _bad("parsing_exception",
                   "[_na] query malformed, must start with start_object" if not isinstance(query, Mapping)
                   else "[_na] query malformed, no start_object after query name")
    (kind, body), = query.items()
    if kind not in _KNOWN_QUERIES:
        raise _bad("parsing_exception", f"unknown query [{kind}]")
    if kind not in _IMPLEMENTED_QUERIES:
        raise NotImplementedByStandIn(f"the [{kind}] query")
    if not isinstance(body, Mapping):
        raise _bad("parsing_exception", f"[{kind}] query malformed, no start_object after query name")
    if kind == "bool":
        for key, value in body.items():
            if key not in ("must", "filter", "should", "must_not", "minimum_should_match", "boost", "_name"):
                raise _bad("parsing_exception", f"[bool] query does not support [{key}]")
            if key in ("must", "filter", "should", "must_not"):
                for clause in [value] if isinstance(value, Mapping) else value:
                    _validate_query(clause, matcher)
    elif kind == "multi_match":
        for key in body:
            if key not in _MULTI_MATCH_KNOWN:
                raise _bad("parsing_exception", f"[multi_match] query does not support [{key}]")
            if key not in _MULTI_MATCH_IMPLEMENTED:
                raise NotImplementedByStandIn(f"the multi_match parameter [{key}]")
        if "query" not in body or body["query"] is None:
            raise _bad("illegal_argument_exception", "[multi_match] requires query value")
        if isinstance(body["query"], Mapping | list):
            raise _bad("parsing_exception", "[multi_match] unknown token [START_OBJECT] after [query]")
        if body.get("type", "best_fields") not in _MULTI_MATCH_TYPES:
            raise _bad("parsing_exception", f"failed to parse [multi_match] query type [{body['type']}]. "
                       "unknown type.")
        if body.get("type", "best_fields") not in ("best_fields", "most_fields", "cross_fields"):
            raise NotImplementedByStandIn(f"multi_match type [{body['type']}]")
        if str(body.get("operator", "or")).lower() not in ("and", "or"):
            raise _bad("illegal_argument_exception", f"operator needs to be either AND or OR; got "
                       f"[{body['operator']}]")
        for entry in body.get("fields") or []:
            if "*" in entry:
                raise NotImplementedByStandIn("field wildcards in multi_match")
    elif kind == "term":
        fields = [k for k in body if k not in ("boost", "_name")]
        if len(fields) != 1:
            raise _bad("parsing_exception", "[term] query doesn't support multiple fields, found "
                       f"[{fields[0] if fields else ''}] and [{fields[1] if len(fields) > 1 else ''}]")
        spec = body[fields[0]]
        if isinstance(spec, Mapping) and set(spec) - {"value", "boost", "case_insensitive", "_name"}:
            raise _bad("parsing_exception",
                       f"[term] query does not support [{sorted(set(spec) - {'value'})[0]}]")
    elif kind == "terms":
        fields = [k for k in body if k not in ("boost", "_name")]
        if len(fields) != 1 or not isinstance(body[fields[0]], list):
            raise _bad("parsing_exception",
                       "[terms] query requires exactly one field with an array of values")
    elif kind == "ids":
        if set(body) - {"values", "boost", "_name"} or not isinstance(body.get("values"), list):
            raise _bad("parsing_exception", "[ids] query requires [values] as an array")


def _sort_key(spec: Any) -> tuple[str, str]:
    if isinstance(spec, str):
        return spec, "desc" if spec == "_score" else "asc"
    if isinstance(spec, Mapping) and len(spec) == 1:
        (path, options), = spec.items()
        order = options if isinstance(options, str) else (options or {}).get("order", "asc")
        if order not in ("asc", "desc"):
            raise _bad("parsing_exception", f"[sort] unknown order [{order}]")
        return path, order
    raise _bad("parsing_exception", "[sort] malformed sort format")


# ----------------------------------------------------------------------------------------------
# The service


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    params: dict[str, str]
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            raise _bad("parse_exception", "request body is required and must be valid JSON") from None


@dataclass
class StandIn:
    credentials: Mapping[str, str] | None = None
    """Access key id -> secret key: SigV4 is checked with these; None accepts unsigned requests."""
    region: str = "us-east-1"
    indexes: dict[str, Index] = field(default_factory=dict)
    aliases: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    """alias -> index -> alias options (e.g. is_write_index)."""
    log: list[Request] = field(default_factory=list)
    fail_with: int | None = None
    """When set, every request answers this status (a domain in trouble)."""

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> StandIn:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = Request(self.command, unquote(parts.path),
                                  dict(parse_qsl(parts.query, keep_blank_values=True)), body,
                                  {k.lower(): v for k, v in self.headers.items()})
                status, payload = stand_in.handle(request, raw_path=self.path)
                data = b"" if self.command == "HEAD" else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data) if self.command != "HEAD" else 0))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _serve  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="opensearch-stand-in", daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def reset(self) -> None:
        with self._lock:
            self.indexes.clear()
            self.aliases.clear()
            self.log.clear()
            self.fail_with = None

    # -- dispatch ---------------------------------------------------------------------------
    def handle(self, request: Request, raw_path: str = "") -> tuple[int, Any]:
        with self._lock:
            self.log.append(request)
            try:
                self._authenticate(request, raw_path or request.path)
                if self.fail_with is not None:
                    raise OpenSearchError(self.fail_with, "cluster_unavailable", "injected failure")
                return self._route(request)
            except OpenSearchError as error:
                return error.status, error.body()

    def _authenticate(self, request: Request, raw_path: str) -> None:
        if self.credentials is None:
            return
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        def denied(message: str) -> OpenSearchError:
            return OpenSearchError(403, "security_exception", message)

        authorization = request.headers.get("authorization", "")
        match = re.match(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                         r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$", authorization)
        if not match:
            raise denied("Authorization header requires a SigV4 signature (AWS4-HMAC-SHA256)")
        key, day, region, service, signed, signature = match.groups()
        secret = self.credentials.get(key)
        if secret is None or region != self.region or service != "es":
            raise denied(f"The credential scope {key}/{day}/{region}/{service} is not this domain's")
        token = request.headers.get("x-amz-security-token")
        payload_hash = request.headers.get("x-amz-content-sha256")
        if payload_hash != hashlib.sha256(request.body).hexdigest():
            raise denied("The payload hash does not match the request body")
        names = signed.split(";")
        if not {"host", "x-amz-date"} <= set(names) or (token and "x-amz-security-token" not in names):
            raise denied("host, x-amz-date and any security token must be signed")
        url = f"https://{request.headers.get('host', '')}{raw_path}"
        aws_request = AWSRequest(method=request.method, url=url, data=request.body,
                                 headers={name: request.headers.get(name, "") for name in names})
        aws_request.context["timestamp"] = request.headers["x-amz-date"]
        auth = SigV4Auth(Credentials(key, secret, token), "es", self.region)
        expected = auth.signature(auth.string_to_sign(aws_request, auth.canonical_request(aws_request)),
                                  aws_request)
        if expected != signature:
            raise denied("The request signature we calculated does not match the signature you provided")

    def _params(self, request: Request, endpoint: str) -> None:
        allowed = _ENDPOINT_PARAMS[endpoint] | _COMMON_PARAMS
        for name in request.params:
            if name not in allowed:
                raise _bad("illegal_argument_exception",
                           f"request [{request.path}] contains unrecognized parameter: [{name}]")
        if request.body and request.method != "HEAD":
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type not in ("application/json", "application/x-ndjson"):
                raise OpenSearchError(406, "content_type_exception",
                                      f"Content-Type header [{content_type}] is not supported")

    def _route(self, request: Request) -> tuple[int, Any]:  # noqa: PLR0911 - one return per endpoint
        parts = [p for p in request.path.split("/") if p]
        method = request.method
        if not parts and method in ("GET", "HEAD"):
            self._params(request, "info")
            return 200, {"name": "stand-in", "cluster_name": "shop", "version": {"distribution": "opensearch",
                                                                                  "number": "2.17.0"}}
        if parts == ["_aliases"] and method == "POST":
            self._params(request, "aliases")
            return self._update_aliases(request.json())
        if len(parts) == 2 and parts[0] == "_alias" and method in ("GET", "HEAD"):
            self._params(request, "get_alias")
            return self._get_alias(parts[1])
        if len(parts) == 2 and parts[1] == "_alias" and method == "GET":
            self._params(request, "get_alias")
            return self._aliases_of(parts[0])
        if parts and parts[-1] == "_bulk" and len(parts) <= 2 and method in ("POST", "PUT"):
            self._params(request, "bulk")
            return self._bulk(request, parts[0] if len(parts) == 2 else None)
        if len(parts) == 1 and not parts[0].startswith("_"):
            if method == "PUT":
                self._params(request, "create_index")
                return self._create_index(parts[0], request.json() or {})
            if method == "DELETE":
                self._params(request, "delete_index")
                return self._delete_index(parts[0])
            if method == "HEAD":
                return (200 if parts[0] in self.indexes or parts[0] in self.aliases else 404), {}
        if len(parts) == 3 and parts[1] == "_doc":
            if method in ("PUT", "POST"):
                self._params(request, "index")
                status, body = self._index_document(parts[0], parts[2], request.json(), request.params)
                return status, body
            if method == "GET":
                self._params(request, "get")
                return self._get_document(parts[0], parts[2])
        if len(parts) in (1, 2) and parts[-1] == "_search" and method in ("GET", "POST"):
            self._params(request, "search")
            return self._search(parts[0] if len(parts) == 2 else "_all", request.json() or {}, request.params)
        if len(parts) == 2 and parts[1] == "_refresh" and method in ("GET", "POST"):
            self._params(request, "refresh")
            self._resolve_read(parts[0])
            return 200, {"_shards": {"total": 2, "successful": 2, "failed": 0}}
        raise NotImplementedByStandIn(f"{method} {request.path}")

    # -- indexes and aliases ------------------------------------------------------------------
    def _create_index(self, name: str, body: Mapping[str, Any]) -> tuple[int, Any]:
        validate_index_name(name)
        for key in body:
            if key not in ("settings", "mappings", "aliases"):
                raise _bad("parse_exception", f"unknown key [{key}] for create index")
        if name in self.aliases:
            raise _bad("invalid_index_name_exception",
                       f"Invalid index name [{name}], already exists as alias")
        if name in self.indexes:
            raise _bad("resource_already_exists_exception", f"index [{name}/stand-in] already exists")
        settings = _validate_settings(body.get("settings") or {})
        mappings = _validate_mappings(body.get("mappings") or {})
        aliases = body.get("aliases") or {}
        for alias, options in aliases.items():
            self._check_alias_name(alias, options)
        self.indexes[name] = Index(name, mappings, settings)
        for alias, options in aliases.items():
            self.aliases.setdefault(alias, {})[name] = dict(options or {})
        return 200, {"acknowledged": True, "shards_acknowledged": True, "index": name}

    def _check_alias_name(self, alias: str, options: Any) -> None:
        if alias in self.indexes:
            raise _bad("invalid_alias_name_exception",
                       f"Invalid alias name [{alias}]: an index or data stream exists with the same name "
                       "as the alias")
        validate_index_name(alias)
        unknown = set(options or {}) - {"is_write_index", "filter", "routing", "index_routing",
                                        "search_routing", "is_hidden"}
        if unknown:
            raise _bad("illegal_argument_exception", f"Unsupported field [{sorted(unknown)[0]}]")
        if set(options or {}) - {"is_write_index"}:
            raise NotImplementedByStandIn("alias options other than is_write_index")

    def _delete_index(self, name: str) -> tuple[int, Any]:
        if "*" in name or "," in name:
            raise NotImplementedByStandIn("deleting indexes by pattern")
        if name in self.aliases:
            raise _bad("illegal_argument_exception",
                       f"The provided expression [{name}] matches an alias, specify "
                       "the corresponding concrete indices instead.")
        if name not in self.indexes:
            raise OpenSearchError(404, "index_not_found_exception", f"no such index [{name}]", index=name)
        del self.indexes[name]
        for alias in list(self.aliases):
            self.aliases[alias].pop(name, None)
            if not self.aliases[alias]:
                del self.aliases[alias]
        return 200, {"acknowledged": True}

    def _update_aliases(self, body: Any) -> tuple[int, Any]:
        if not isinstance(body, Mapping) or not isinstance(body.get("actions"), list) \
                or set(body) - {"actions"}:
            raise _bad("parsing_exception", "[aliases] requires an [actions] array")
        planned: list[tuple[str, str, str, dict[str, Any]]] = []
        for action in body["actions"]:
            if not isinstance(action, Mapping) or len(action) != 1:
                raise _bad("parsing_exception", "Too many operations declared on operation entry")
            (kind, spec), = action.items()
            if kind not in ("add", "remove", "remove_index"):
                raise _bad("parsing_exception", f"Unknown action [{kind}]")
            if kind == "remove_index":
                raise NotImplementedByStandIn("the remove_index alias action")
            index, alias = spec.get("index"), spec.get("alias")
            if not index or not alias:
                raise _bad("action_request_validation_exception",
                           f"Validation Failed: 1: [{'index' if not index else 'alias'}] is missing;")
            if index not in self.indexes:
                raise OpenSearchError(404, "index_not_found_exception",
                                           f"no such index [{index}]", index=index)
            options = {k: v for k, v in spec.items() if k not in ("index", "alias")}
            if kind == "add":
                self._check_alias_name(alias, options)
            elif index not in self.aliases.get(alias, {}):
                raise OpenSearchError(404, "aliases_not_found_exception", f"aliases [{alias}] missing")
            planned.append((kind, index, alias, options))
        for kind, index, alias, options in planned:  # all checked: apply atomically
            if kind == "add":
                self.aliases.setdefault(alias, {})[index] = options
            else:
                self.aliases[alias].pop(index, None)
                if not self.aliases[alias]:
                    del self.aliases[alias]
        return 200, {"acknowledged": True}

    def _get_alias(self, name: str) -> tuple[int, Any]:
        if name not in self.aliases:
            return 404, {"error": f"alias [{name}] missing", "status": 404}
        return 200, {index: {"aliases": {name: options}} for index, options in self.aliases[name].items()}

    def _aliases_of(self, pattern: str) -> tuple[int, Any]:
        names = self._expand(pattern)
        return 200, {name: {"aliases": {alias: members[name] for alias, members in self.aliases.items()
                                         if name in members}} for name in names}

    def _expand(self, pattern: str) -> list[str]:
        if "*" in pattern:
            return sorted(name for name in self.indexes if fnmatch.fnmatchcase(name, pattern))
        if pattern not in self.indexes:
            raise OpenSearchError(404, "index_not_found_exception",
                                       f"no such index [{pattern}]", index=pattern)
        return [pattern]

    # -- documents ----------------------------------------------------------------------------
    def _resolve_write(self, target: str, require_alias: bool) -> Index:
        if target in self.aliases:
            members = self.aliases[target]
            writers = [i for i, o in members.items() if o.get("is_write_index")]
            if len(members) == 1 and not any(o.get("is_write_index") is False for o in members.values()):
                return self.indexes[next(iter(members))]
            if len(writers) == 1:
                return self.indexes[writers[0]]
            raise _bad("illegal_argument_exception",
                       f"no write index is defined for alias [{target}]. The write "
                       "index may be explicitly disabled using is_write_index=false or the alias points to "
                       "multiple indices without one being designated as a write index")
        if require_alias:
            raise OpenSearchError(404, "index_not_found_exception", f"no such index [{target}] and "
                                  f"[require_alias] request flag is [true] and [{target}] is not an alias",
                                  index=target)
        if target not in self.indexes:
            validate_index_name(target)
            self.indexes[target] = Index(target, {}, {})  # auto-created, dynamic mapping
        return self.indexes[target]

    def _resolve_read(self, target: str) -> list[Index]:
        found: list[Index] = []
        for name in target.split(","):
            if name in ("_all", "*"):
                found += self.indexes.values()
            elif name in self.aliases:
                found += [self.indexes[i] for i in self.aliases[name]]
            elif "*" in name:
                found += [self.indexes[i] for i in self._expand(name)]
            elif name in self.indexes:
                found.append(self.indexes[name])
            else:
                raise OpenSearchError(404, "index_not_found_exception", f"no such index [{name}]", index=name)
        return found

    def _write(self, index: Index, doc_id: str, document: Any, params: Mapping[str, Any],
               op_type: str = "index") -> tuple[int, dict[str, Any]]:
        if not doc_id or len(doc_id.encode()) > 512:
            raise _bad("illegal_argument_exception", "id is too long, must be no longer than 512 bytes")
        validate_document(index, document)
        version_type = str(params.get("version_type", "internal"))
        if version_type not in ("internal", "external", "external_gte"):
            raise _bad("illegal_argument_exception", f"No version type match [{version_type}]")
        raw_version = params.get("version")
        current = index.docs.get(doc_id)
        if version_type == "internal":
            if raw_version is not None:
                raise _bad("action_request_validation_exception",
                           "Validation Failed: 1: internal versioning can "
                           "not be used for optimistic concurrency control. Please use `if_seq_no` and "
                           "`if_primary_term` instead;")
            version = (current[0] + 1) if current else 1
        else:
            try:
                version = int(raw_version) if raw_version is not None else -3
            except (TypeError, ValueError):
                raise _bad("illegal_argument_exception", f"failed to parse version [{raw_version}]") from None
            if version < 0:
                raise _bad("action_request_validation_exception",
                           f"Validation Failed: 1: illegal version value "
                           f"[{version}] for version type [{version_type.upper()}];")
            if current is not None and (current[0] >= version if version_type == "external"
                                        else current[0] > version):
                raise OpenSearchError(409, "version_conflict_engine_exception",
                                      f"[{doc_id}]: version conflict, current version [{current[0]}] is "
                                      "higher "
                                      f"or equal to the one provided [{version}]", index=index.name)
        if op_type == "create" and current is not None:
            raise OpenSearchError(409, "version_conflict_engine_exception",
                                  f"[{doc_id}]: version conflict, document already exists", index=index.name)
        index.docs[doc_id] = (version, dict(document))
        index.seq_no += 1
        result = "updated" if current else "created"
        return (200 if current else 201), {"_index": index.name, "_id": doc_id, "_version": version,
                                           "result": result,
                                           "_shards": {"total": 2, "successful": 2, "failed": 0},
                                           "_seq_no": index.seq_no, "_primary_term": 1}

    def _index_document(self, target: str, doc_id: str, document: Any,
                        params: Mapping[str, str]) -> tuple[int, Any]:
        require_alias = params.get("require_alias", "false") == "true"
        index = self._resolve_write(target, require_alias)
        return self._write(index, doc_id, document, params, params.get("op_type", "index"))

    def _get_document(self, target: str, doc_id: str) -> tuple[int, Any]:
        indexes = self._resolve_read(target)
        if len(indexes) > 1:
            raise _bad("illegal_argument_exception",
                       f"alias [{target}] has more than one index associated with "
                       f"it [{', '.join(i.name for i in indexes)}], can't execute a single index op")
        index = indexes[0]
        if doc_id not in index.docs:
            return 404, {"_index": index.name, "_id": doc_id, "found": False}
        version, source = index.docs[doc_id]
        return 200, {"_index": index.name, "_id": doc_id, "_version": version, "_seq_no": 0,
                     "_primary_term": 1,
                     "found": True, "_source": source}

    def _bulk(self, request: Request, default_index: str | None) -> tuple[int, Any]:
        text = request.body.decode()
        if text and not text.endswith("\n"):
            raise _bad("illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]")
        lines = [line for line in text.split("\n") if line.strip()]
        items: list[dict[str, Any]] = []
        position = 0
        while position < len(lines):
            try:
                action = json.loads(lines[position])
            except ValueError:
                raise _bad("illegal_argument_exception",
                           f"Malformed action/metadata line [{position + 1}]") from None
            if not isinstance(action, Mapping) or len(action) != 1:
                raise _bad("illegal_argument_exception", f"Malformed action/metadata line [{position + 1}], "
                           "expected a simple value for field [_index] but found [START_OBJECT]")
            (kind, meta), = action.items()
            if kind not in ("index", "create", "update", "delete"):
                raise _bad("illegal_argument_exception", f"Malformed action/metadata line [{position + 1}], "
                           f"expected one of [create, delete, index, update] but found [{kind}]")
            if kind in ("update", "delete"):
                raise NotImplementedByStandIn(f"the bulk [{kind}] action")
            unknown = set(meta) - {"_index", "_id", "version", "version_type", "routing", "pipeline",
                                   "require_alias", "if_seq_no", "if_primary_term", "_source"}
            if unknown:
                raise _bad("illegal_argument_exception", f"Action/metadata line [{position + 1}] contains an "
                           f"unknown parameter [{sorted(unknown)[0]}]")
            if position + 1 >= len(lines):
                raise _bad("illegal_argument_exception",
                           "The bulk request must be terminated by a newline [\\n]")
            source = json.loads(lines[position + 1])
            position += 2
            target = meta.get("_index") or default_index
            try:
                if not target:
                    raise _bad("action_request_validation_exception",
                               "Validation Failed: 1: index is missing;")
                index = self._resolve_write(target, bool(meta.get("require_alias")))
                status, result = self._write(index, str(meta.get("_id", "")), source, meta, kind)
                items.append({kind: {**result, "status": status}})
            except OpenSearchError as error:
                if error.status == 501:
                    raise
                items.append({kind: {"_index": target, "_id": meta.get("_id"), "status": error.status,
                                     "error": {"type": error.kind, "reason": error.reason}}})
        failed = any("error" in next(iter(item.values())) for item in items)
        return 200, {"took": 1, "errors": failed, "items": items}

    # -- search -------------------------------------------------------------------------------
    def _search(self, target: str, body: Mapping[str, Any], params: Mapping[str, str]) -> tuple[int, Any]:
        if not isinstance(body, Mapping):
            raise _bad("parsing_exception", "request body must be an object")
        if "q" in params:
            raise NotImplementedByStandIn("the q= (Lucene syntax) search parameter")
        for key in body:
            if key not in _SEARCH_BODY_KNOWN:
                raise _bad("parsing_exception", f"Unknown key for a START_OBJECT in [{key}].")
            if key not in _SEARCH_BODY_IMPLEMENTED:
                raise NotImplementedByStandIn(f"the search body key [{key}]")
        indexes = self._resolve_read(target)
        matcher = _Matcher(indexes)
        query = body.get("query", {"match_all": {}})
        _validate_query(query, matcher)
        start, size = body.get("from", params.get("from", 0)), body.get("size", params.get("size", 10))
        try:
            start, size = int(start), int(size)
        except (TypeError, ValueError):
            raise _bad("parsing_exception", "[from] and [size] must be integers") from None
        if start < 0:
            raise _bad("illegal_argument_exception", "[from] parameter cannot be negative")
        if size < 0:
            raise _bad("illegal_argument_exception", f"[size] parameter cannot be negative, found [{size}]")
        window = min((i.max_result_window for i in indexes), default=MAX_RESULT_WINDOW)
        if start + size > window:
            raise _bad("illegal_argument_exception",
                       f"Result window is too large, from + size must be less than "
                       f"or equal to: [{window}] but was [{start + size}]. See the scroll api for a more "
                       "efficient way to request large data sets. This limit can be set by changing the "
                       "[index.max_result_window] index level setting.")
        sort = [_sort_key(s) for s in (body.get("sort") or ["_score"])]
        for path, _ in sort:
            if path in ("_score", "_id", "_doc"):
                continue
            mapping = matcher.mapping(path)
            if mapping is None:
                raise _bad("query_shard_exception", f"No mapping found for [{path}] in order to sort on")
            if mapping.get("type") in _TEXT_TYPES:
                raise _bad("illegal_argument_exception",
                           "Text fields are not optimised for operations that require per-document field "
                           "data like aggregations and sorting, so these operations are disabled by default. "
                           f"Please use a keyword field instead. [{path}]")
        hits: list[tuple[float, Hit]] = []
        for index in indexes:
            for doc_id, (version, source) in index.docs.items():
                hit = Hit(index.name, doc_id, version, source)
                ok, score = matcher.evaluate(query, hit)
                if ok:
                    hits.append((score, hit))
        for path, order in reversed(sort):
            hits.sort(key=partial(_sortable, path=path, matcher=matcher), reverse=order == "desc")
        page = hits[start:start + size]
        source_filter = body.get("_source", True)
        return 200, {
            "took": 1, "timed_out": False, "_shards": {"total": len(indexes), "successful": len(indexes),
                                                       "skipped": 0, "failed": 0},
            "hits": {"total": {"value": len(hits), "relation": "eq"},
                     "max_score": max((s for s, _ in hits), default=None),
                     "hits": [{"_index": h.index, "_id": h.id, "_score": s,
                               "_source": _filter_source(h.source, source_filter),
                               **({"sort": [_sortable((s, h), p, matcher)[1] for p, _ in sort]}
                                  if body.get("sort") else {})} for s, h in page]}}


def _sortable(pair: tuple[float, Hit], path: str, matcher: _Matcher) -> tuple[int, Any]:
    score, hit = pair
    if path == "_score":
        return 0, score
    if path in ("_id", "_doc"):
        return 0, hit.id
    values = matcher.field_values(hit, path)
    return (0, min(values)) if values else (1, "")


def _filter_source(source: dict[str, Any], spec: Any) -> dict[str, Any] | None:
    if spec is True or spec is None:
        return source
    if spec is False:
        return None
    wanted: Iterable[str] = [spec] if isinstance(spec, str) else list(spec)
    return {k: v for k, v in source.items() if any(fnmatch.fnmatchcase(k, w) for w in wanted)}

