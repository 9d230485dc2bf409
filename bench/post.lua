-- post.lua - wrk script for the hearth benchmark: the same chat request, POSTed on every call.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"m","messages":[' ..
	'{"role":"system","content":"You are a helpful assistant."},' ..
	'{"role":"user","content":"Hello! Can you help me with my code?"}],' ..
	'"temperature":0.7,"max_tokens":256}'
