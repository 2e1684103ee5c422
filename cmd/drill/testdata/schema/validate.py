"""Validates JSON instances against a JSON Schema (draft 2020-12) with the jsonschema package.

Usage: validate.py SCHEMA.json INSTANCES.json
INSTANCES.json maps a name to a document; prints {name: [error, ...]} as JSON. The schema
itself is checked against the draft's metaschema first.
"""
import json
import sys

import jsonschema


def main():
    schema = json.load(open(sys.argv[1]))
    instances = json.load(open(sys.argv[2]))
    jsonschema.Draft202012Validator.check_schema(schema)
    v = jsonschema.Draft202012Validator(schema)
    out = {}
    for name, doc in instances.items():
        out[name] = [
            "/".join(str(p) for p in e.absolute_path) + ": " + e.message
            for e in v.iter_errors(doc)
        ]
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
