# gemini.py - a scripted Google Gemini API (v1beta) provider on 127.0.0.1:0 for the e2e tests.
# The model in the URL picks the behaviour; unknown JSON fields are refused like the real API.
"""Fake Gemini server (generativelanguage v1beta); base_url ends in /v1beta.

Routes: POST /v1beta/models/{model}:generateContent, :streamGenerateContent (alt=sse: SSE
events "data: <GenerateContentResponse>\\r\\n\\r\\n"; without alt=sse a JSON array streamed
in pieces), :countTokens, :embedContent, :batchEmbedContents; GET /v1beta/models and
/v1beta/models/{model}. The key comes in x-goog-api-key or ?key=; without one: 403
PERMISSION_DENIED.

Behaviours: the common ones of fakes.base, and
  usage-details   usageMetadata also has cachedContentTokenCount=2, thoughtsTokenCount=3
  no-usage        no usageMetadata at all
  json            {"format": "none" | "json" (responseMimeType application/json) |
                  "json_schema" (and responseSchema or responseJsonSchema) | <other mime>}
  tool-call       functionCall parts (never split: Gemini sends whole calls), finish STOP
  error-529       = error-503 (503 UNAVAILABLE)
  stream-error    two text chunks, then data: {"error": {...503 UNAVAILABLE}}, then the end
  safety          a candidate stopped with finishReason SAFETY, no content
  refusal         = safety (Gemini refuses with a SAFETY stop, not with text)
  empty           one part with empty text, finish STOP (streams: one such chunk)
  blocked         no candidates; promptFeedback.blockReason SAFETY
Validation: unknown fields anywhere in the request (also inside responseSchema and function
parameters, which take Google's Schema, not full JSON Schema) -> 400 INVALID_ARGUMENT
'Invalid JSON payload received. Unknown name "x" at 'path': Cannot find field.'; a role
other than user/model; empty contents; a bad functionCallingConfig mode; function response
turns that do not follow a function call turn or answer a different number of calls.
"""

import json

from .base import (BAD_REQUEST_MESSAGE, COMMON, DETAIL_CACHED, DETAIL_REASONING, EMBED_DIM,
                   RETRY_AFTER, BaseHandler, ErrorPlan, FakeServer, Plan, View, count_words,
                   describe_inline, embedding, plan_for, rand_id)

__all__ = ["FakeGemini", "BEHAVIOURS", "sse_events"]

ERRORS = {
    400: ("INVALID_ARGUMENT", BAD_REQUEST_MESSAGE),
    401: ("UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 "
                             "access token, login cookie or other valid authentication "
                             "credential."),
    403: ("PERMISSION_DENIED", "Method doesn't allow unregistered callers (callers without "
                               "established identity). Please use API key or other form of "
                               "API consumer identity to call this API."),
    404: ("NOT_FOUND", None),
    429: ("RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your plan and "
                                "billing details."),
    500: ("INTERNAL", "An internal error has occurred. Please retry or report in "
                      "https://developers.generativeai.google/guide/troubleshooting"),
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
}
FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "tool": "STOP", "stop_sequence": "STOP",
          "refusal": "SAFETY"}
SAFETY_CATEGORIES = ("HARM_CATEGORY_SEXUALLY_EXPLICIT", "HARM_CATEGORY_HATE_SPEECH",
                     "HARM_CATEGORY_HARASSMENT", "HARM_CATEGORY_DANGEROUS_CONTENT")
MODES = ("MODE_UNSPECIFIED", "AUTO", "ANY", "NONE", "VALIDATED")

# Message shapes: field -> sub-shape name (None: any value). Names are the proto JSON
# (camelCase) ones; snake_case spellings are accepted as the real API does.
SHAPES = {
    "request": {"model": None, "contents": "[content]", "systemInstruction": "content",
                "tools": "[tool]", "toolConfig": "toolConfig",
                "generationConfig": "generationConfig", "safetySettings": "[safety]",
                "cachedContent": None},
    "content": {"role": None, "parts": "[part]"},
    "part": {"text": None, "inlineData": "blob", "fileData": "fileData",
             "functionCall": "functionCall", "functionResponse": "functionResponse",
             "executableCode": None, "codeExecutionResult": None, "thought": None,
             "thoughtSignature": None, "videoMetadata": None, "partMetadata": None,
             "mediaResolution": None},
    "blob": {"mimeType": None, "data": None},
    "fileData": {"mimeType": None, "fileUri": None},
    "functionCall": {"id": None, "name": None, "args": None},
    "functionResponse": {"id": None, "name": None, "response": None, "parts": None,
                         "willContinue": None, "scheduling": None},
    "tool": {"functionDeclarations": "[functionDeclaration]", "googleSearch": None,
             "googleSearchRetrieval": None, "codeExecution": None, "urlContext": None,
             "computerUse": None, "fileSearch": None, "googleMaps": None},
    "functionDeclaration": {"name": None, "description": None, "parameters": "schema",
                            "parametersJsonSchema": None, "response": "schema",
                            "responseJsonSchema": None, "behavior": None},
    "toolConfig": {"functionCallingConfig": "functionCallingConfig", "retrievalConfig": None},
    "functionCallingConfig": {"mode": None, "allowedFunctionNames": None},
    "generationConfig": {"stopSequences": None, "responseMimeType": None,
                         "responseSchema": "schema", "responseJsonSchema": None,
                         "_responseJsonSchema": None, "responseModalities": None,
                         "candidateCount": None, "maxOutputTokens": None, "temperature": None,
                         "topP": None, "topK": None, "seed": None, "presencePenalty": None,
                         "frequencyPenalty": None, "responseLogprobs": None, "logprobs": None,
                         "enableEnhancedCivicAnswers": None, "speechConfig": None,
                         "thinkingConfig": "thinkingConfig", "imageConfig": None,
                         "mediaResolution": None},
    "thinkingConfig": {"includeThoughts": None, "thinkingBudget": None, "thinkingLevel": None},
    "safety": {"category": None, "threshold": None},
    "schema": {"type": None, "format": None, "title": None, "description": None,
               "nullable": None, "enum": None, "maxItems": None, "minItems": None,
               "properties": "{schema}", "required": None, "minProperties": None,
               "maxProperties": None, "minLength": None, "maxLength": None, "pattern": None,
               "example": None, "anyOf": "[schema]", "propertyOrdering": None,
               "default": None, "items": "schema", "minimum": None, "maximum": None},
    "embedRequest": {"model": None, "content": "content", "taskType": None, "title": None,
                     "outputDimensionality": None},
    "batchEmbed": {"requests": "[embedRequest]"},
    "countTokens": {"contents": "[content]", "generateContentRequest": "request"},
}


def camel(name):
    head, *rest = name.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def snake(name):
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


def norm(obj):
    """obj with every known snake_case key spelled in camelCase (values kept)."""
    if isinstance(obj, dict):
        return {camel(k) if not k.startswith("_") else k: norm(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [norm(v) for v in obj]
    return obj


def unknown_fields(obj, shape, path=""):
    """The real API's "Unknown name" complaints for obj against SHAPES[shape]."""
    out = []
    if shape.startswith("["):
        inner = shape[1:-1]
        if isinstance(obj, list):
            for i, v in enumerate(obj):
                out += unknown_fields(v, inner, "%s[%d]" % (path, i))
        return out
    if shape.startswith("{"):
        inner = shape[1:-1]
        if isinstance(obj, dict):
            for i, (k, v) in enumerate(obj.items()):
                out += unknown_fields(v, inner, "%s[%d].value" % (path, i))
        return out
    if not isinstance(obj, dict):
        return out
    fields = SHAPES[shape]
    for k, v in obj.items():
        key = k if k in fields else camel(k)
        if key not in fields:
            where = " at '%s'" % path if path else ""
            out.append('Invalid JSON payload received. Unknown name "%s"%s: Cannot find '
                       'field.' % (k, where))
        elif fields[key]:
            sub = snake(key)
            out += unknown_fields(v, fields[key], "%s.%s" % (path, sub) if path else sub)
    return out


def error_obj(status, message=None, extra_details=None):
    name, default = ERRORS[status]
    err = {"code": status, "message": message or default, "status": name}
    if extra_details:
        err["details"] = extra_details
    return {"error": err}


def part_text(parts):
    return " ".join(p.get("text", "") for p in parts or []
                    if isinstance(p, dict) and isinstance(p.get("text"), str))


def prompt_words(body):
    n = count_words(part_text((body.get("systemInstruction") or {}).get("parts")))
    for c in body.get("contents") or []:
        if isinstance(c, dict):
            n += count_words(part_text(c.get("parts")))
    return n


def response_text(resp):
    """The text of a functionResponse.response object."""
    if isinstance(resp, dict) and len(resp) == 1:
        (v,) = resp.values()
        if isinstance(v, str):
            return v
    return json.dumps(resp)


def validate(body):
    """The real API's complaint about body (known fields, camelCase), or None."""
    contents = body.get("contents")
    if not contents:
        return "* GenerateContentRequest.contents: contents is not specified\n"
    prev_calls = 0
    for i, c in enumerate(contents):
        role = c.get("role")
        if role is not None and role not in ("user", "model"):
            return "Please use a valid role: user, model."
        parts = c.get("parts") or []
        if not parts:
            return "* GenerateContentRequest.contents[%d].parts: contents.parts must not be " \
                   "empty.\n" % i
        responses = sum(1 for p in parts if "functionResponse" in p)
        calls = sum(1 for p in parts if "functionCall" in p)
        if responses:
            if not prev_calls:
                return ("Please ensure that function response turn comes immediately after "
                        "a function call turn.")
            if responses != prev_calls:
                return ("Please ensure that the number of function response parts is equal "
                        "to the number of function call parts of the function call turn.")
        prev_calls = calls
    mode = ((body.get("toolConfig") or {}).get("functionCallingConfig") or {}).get("mode")
    if mode is not None and mode not in MODES:
        return ("Invalid value at 'tool_config.function_calling_config.mode' (type.googleapis."
                "com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), \"%s\""
                % mode)
    return None


def view_of(body, stream):
    contents = [c for c in body.get("contents") or [] if isinstance(c, dict)]
    last_user, tool_result, images = "", None, []
    for c in contents:
        parts = [p for p in c.get("parts") or [] if isinstance(p, dict)]
        if c.get("role", "user") == "user" and part_text(parts):
            last_user = part_text(parts)
        for p in parts:
            if "inlineData" in p:
                images.append(describe_inline(p["inlineData"].get("mimeType"),
                                              p["inlineData"].get("data")))
            elif "fileData" in p:
                images.append("url=%s" % p["fileData"].get("fileUri"))
    if contents:
        res = [p["functionResponse"] for p in contents[-1].get("parts") or []
               if isinstance(p, dict) and "functionResponse" in p]
        if res:
            tool_result = response_text(res[-1].get("response"))
    gc = body.get("generationConfig") or {}
    mime = gc.get("responseMimeType")
    fmt = "none"
    if mime == "application/json":
        fmt = "json_schema" if (gc.get("responseSchema") or gc.get("responseJsonSchema")
                                or gc.get("_responseJsonSchema")) else "json"
    elif mime:
        fmt = mime
    names = [d.get("name") for t in body.get("tools") or [] if isinstance(t, dict)
             for d in t.get("functionDeclarations") or [] if isinstance(d, dict)]
    return View(stream=stream, prompt_words=prompt_words(body), last_user_text=last_user,
                tool_result=tool_result, tool_names=names, images=images, format_asked=fmt,
                max_tokens=gc.get("maxOutputTokens"),
                stop_sequences=gc.get("stopSequences") or [])


def is_safety(plan):
    """A candidate stopped by SAFETY without content: the "safety" behaviour, or a refusal
    (Gemini's way of refusing)."""
    return getattr(plan, "safety", False) or plan.finish == "refusal"


def completion_tokens(plan):
    return 0 if is_safety(plan) else plan.completion_tokens


def sse_events(raw):
    """The JSON objects of a Gemini SSE body (events end with \\r\\n\\r\\n)."""
    out = []
    for ev in raw.split("\r\n\r\n"):
        if ev.startswith("data: "):
            out.append(json.loads(ev[6:]))
    return out


class Handler(BaseHandler):
    server_version = "fake-gemini/1.0"

    def extra_headers(self):
        return {"Vary": "Origin, X-Origin, Referer", "Server-Timing": "gfet4t7; dur=1"}

    def behaviour_of(self, body):
        path = self.url_path
        if "/models/" in path:
            return path.split("/models/", 1)[1].split(":", 1)[0]
        return None

    def error(self, rec, status, message=None):
        status = 503 if status == 529 else status
        headers, details = {}, None
        if status == 429:
            headers = {"Retry-After": RETRY_AFTER}
            details = [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                        "retryDelay": RETRY_AFTER + "s"}]
        if status == 404 and message is None:
            message = ("models/%s is not found for API version v1beta, or is not supported "
                       "for generateContent. Call ListModels to see the list of available "
                       "models and their supported methods." % rec["behaviour"])
        self.send_json(rec, status, error_obj(status, message, details), headers,
                       ctype="application/json; charset=UTF-8")
        return None

    def invalid(self, rec, message):
        details = None
        if message.startswith("Invalid JSON payload"):
            details = [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": [{"description": line}
                                            for line in message.split("\n")]}]
        self.send_json(rec, 400, error_obj(400, message, details),
                       ctype="application/json; charset=UTF-8")
        return None

    # ---- routing ----------------------------------------------------------------------
    def handle_request(self, method, rec, body):
        path = self.url_path.rstrip("/")
        if not (self.headers.get("x-goog-api-key") or self.query.get("key")):
            return self.error(rec, 403)
        if method == "GET" and path == "/v1beta/models":
            self.send_json(rec, 200, {"models": [model_obj(b) for b in BEHAVIOURS]},
                           ctype="application/json; charset=UTF-8")
            return None
        if method == "GET" and path.startswith("/v1beta/models/"):
            if rec["behaviour"] not in BEHAVIOURS:
                return self.error(rec, 404, "Model is not found: models/%s for api version "
                                            "v1beta" % rec["behaviour"])
            self.send_json(rec, 200, model_obj(rec["behaviour"]),
                           ctype="application/json; charset=UTF-8")
            return None
        verb = path.split(":", 1)[1] if ":" in path else ""
        if method != "POST" or not path.startswith("/v1beta/models/") or verb not in (
                "generateContent", "streamGenerateContent", "countTokens", "embedContent",
                "batchEmbedContents"):
            self.send_raw(404, b"<!DOCTYPE html><html><title>Error 404 (Not Found)!!1</title>"
                          b"</html>", "text/html; charset=UTF-8")
            rec["status"] = 404
            return None
        if not isinstance(body, dict):
            return self.invalid(rec, "Invalid JSON payload received. Unexpected token.")
        shape = {"embedContent": "embedRequest", "batchEmbedContents": "batchEmbed",
                 "countTokens": "countTokens"}.get(verb, "request")
        problems = unknown_fields(body, shape)
        if problems:  # named as the client spelled them, before the spelling is unified
            return self.invalid(rec, "\n".join(problems))
        body = norm(body)
        if verb in ("embedContent", "batchEmbedContents"):
            return self.embed(rec, body, verb)
        if verb == "countTokens":
            self.send_json(rec, 200, {"totalTokens": prompt_words(body)})
            return None
        problem = validate(body)
        if problem:
            return self.invalid(rec, problem)
        stream = verb == "streamGenerateContent"
        b = rec["behaviour"]
        view = view_of(body, stream)
        if b == "safety":
            plan = Plan(text=None, finish="stop")
            plan.safety = True
        elif b == "blocked":
            return self.blocked(rec, body)
        else:
            plan = plan_for(b, view)
        if plan is None:
            return self.error(rec, 404)
        return self.run_plan(rec, plan, lambda p: self.answer(rec, body, p, stream),
                             lambda status: self.error(rec, status))

    # ---- answers ----------------------------------------------------------------------
    def _usage(self, body, plan, candidates):
        prompt = prompt_words(body)
        u = {"promptTokenCount": prompt, "candidatesTokenCount": candidates,
             "totalTokenCount": prompt + candidates}
        if plan.details:
            u["cachedContentTokenCount"] = DETAIL_CACHED
            u["thoughtsTokenCount"] = DETAIL_REASONING
            u["totalTokenCount"] += DETAIL_REASONING
        u["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": prompt}]
        return u

    def _response(self, rid, body, plan, parts, finish, candidates):
        cand = {"content": {"parts": parts, "role": "model"}, "index": 0}
        if finish:
            cand["finishReason"] = finish
        if is_safety(plan):
            cand = {"finishReason": "SAFETY", "index": 0, "safetyRatings": [
                {"category": c, "probability": "HIGH" if i == 0 else "NEGLIGIBLE",
                 **({"blocked": True} if i == 0 else {})}
                for i, c in enumerate(SAFETY_CATEGORIES)]}
        obj = {"candidates": [cand]}
        if plan.usage:
            obj["usageMetadata"] = self._usage(body, plan, candidates)
        obj["modelVersion"] = self.behaviour_of(None)
        obj["responseId"] = rid
        return obj

    def blocked(self, rec, body):
        self.send_json(rec, 200, {
            "promptFeedback": {"blockReason": "SAFETY", "safetyRatings": [
                {"category": c, "probability": "HIGH" if i == 0 else "NEGLIGIBLE"}
                for i, c in enumerate(SAFETY_CATEGORIES)]},
            "usageMetadata": {"promptTokenCount": prompt_words(body),
                              "totalTokenCount": prompt_words(body)},
            "modelVersion": rec["behaviour"], "responseId": rand_id(22)},
            ctype="application/json; charset=UTF-8")
        return None

    def _event(self, rec, obj, sse, first):
        data = json.dumps(obj)
        if sse:
            self.chunk(("data: %s\r\n\r\n" % data).encode())
        else:
            self.chunk(("[" if first else ",\r\n").encode() + data.encode())
        rec["sent"].append(obj)

    def answer(self, rec, body, plan, stream):
        rid = rand_id(22)
        finish = FINISH[plan.finish]
        call_parts = [{"functionCall": {"name": n, "args": a}} for n, a in plan.calls]
        if not stream:
            parts = call_parts or [{"text": plan.text or ""}]
            self.send_json(rec, 200, self._response(rid, body, plan, parts, finish,
                                                    completion_tokens(plan)),
                           ctype="application/json; charset=UTF-8")
            return None
        sse = self.query.get("alt") == "sse"
        self.start_stream(rec, "text/event-stream" if sse else
                          "application/json; charset=UTF-8")
        if call_parts or is_safety(plan):
            self._event(rec, self._response(rid, body, plan, call_parts, finish,
                                            completion_tokens(plan)), sse, True)
        else:
            # An empty answer still ends with one chunk: empty text and the finish reason.
            pieces = plan.stream_pieces() or [""]
            sent = 0
            for i, piece in enumerate(pieces):
                self.stream_gap(plan, i)
                last = i == len(pieces) - 1 and plan.cut_after is None \
                    and plan.error_after is None
                sent += count_words(piece)
                self._event(rec, self._response(rid, body, plan, [{"text": piece}],
                                                finish if last else None,
                                                plan.completion_tokens if last else sent),
                            sse, i == 0)
                if self.stream_pace(plan, i):
                    return "cut"
                if plan.error_after is not None and i + 1 == plan.error_after:
                    self._event(rec, error_obj(503), sse, False)
                    break
        if not sse:
            self.chunk(b"]")
        self.end_chunks()
        return None

    # ---- embeddings -------------------------------------------------------------------
    def embed(self, rec, body, verb):
        plan = COMMON.get(rec["behaviour"])
        if plan is not None and isinstance(plan(View()), ErrorPlan):
            return self.error(rec, plan(View()).status)
        if plan is None and rec["behaviour"] not in BEHAVIOURS:
            return self.error(rec, 404)

        def one(req):
            dim = req.get("outputDimensionality") or EMBED_DIM
            return {"values": embedding(part_text((req.get("content") or {}).get("parts")),
                                        dim)}
        if verb == "embedContent":
            if not body.get("content"):
                return self.invalid(rec, "* EmbedContentRequest.content: content is not "
                                         "specified\n")
            self.send_json(rec, 200, {"embedding": one(body)},
                           ctype="application/json; charset=UTF-8")
            return None
        reqs = body.get("requests") or []
        for i, r in enumerate(reqs):
            if r.get("model") != "models/" + rec["behaviour"]:
                return self.invalid(rec, "* BatchEmbedContentsRequest.requests[%d].model: "
                                         "Model name should match the model in the URL: "
                                         "models/%s\n" % (i, rec["behaviour"]))
        self.send_json(rec, 200, {"embeddings": [one(r) for r in reqs]},
                       ctype="application/json; charset=UTF-8")
        return None


def model_obj(name):
    return {"name": "models/" + name, "version": "001", "displayName": "Fake " + name,
            "description": "A scripted fake model: " + name, "inputTokenLimit": 1048576,
            "outputTokenLimit": 65536,
            "supportedGenerationMethods": ["generateContent", "countTokens",
                                           "embedContent", "batchEmbedContents"],
            "temperature": 1, "topP": 0.95, "topK": 64, "maxTemperature": 2,
            "thinking": True}


BEHAVIOURS = sorted(set(COMMON) | {"safety", "blocked"})


class FakeGemini(FakeServer):
    """The fake Gemini provider. base_url ends in /v1beta: clients add /models/<m>:<verb>."""

    handler = Handler
    base_path = "/v1beta"

    def generate_requests(self, behaviour=None):
        return [r for r in self.requests_to("/v1beta/models/", behaviour)
                if "GenerateContent" in r["path"] or "generateContent" in r["path"]]


if __name__ == "__main__":  # manual use: cd tests/e2e && python3 -m fakes.gemini
    FakeGemini().serve_forever()
