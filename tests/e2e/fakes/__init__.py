# fakes - scripted providers on 127.0.0.1:0 that speak each real wire format, for the e2e suite.
# One module per format (openai, anthropic, gemini, ollama); base holds what they share.
"""Fake providers for the e2e tests.

Every fake picks a behaviour from the upstream model name (see base.COMMON for the names all
of them know), records each request, and offers the same API: start(), close(), port,
base_url, requests, wait_for(), wait_outcome(), summary().
"""
