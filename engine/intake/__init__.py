"""Events in: the JSON API's payloads, hotline files and Open311 requests, validated and stored once per
(source, source id)."""
