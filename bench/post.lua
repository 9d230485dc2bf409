-- post.lua - wrk script for the hearth benchmark: the same chat request, POSTed on every call.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"m","messages":[' ..
	'{"role":"system","content":"You are a helpful assistant."},' ..
	'{"role":"user","content":"Hello! Can you help me with my code?"}],' ..
	'"temperature":0.7,"max_tokens":256}'

-- BENCH_CAPTURE=1 (set by run.sh after errors): print the first few answers that are not 200.
if os.getenv("BENCH_CAPTURE") then
	local shown = 0
	function response(status, headers, body)
		if status ~= 200 and shown < 3 then
			shown = shown + 1
			io.write("non-200 answer: ", status, " ", tostring(body):sub(1, 1000), "\n")
		end
	end
end
