"""The FastAPI benchmark app: one JSON route with a path parameter, served by every ASGI server.

The workload `fastapi-json` of benches/run.py: `GET /users/{user_id}` answers
`{"user_id": "<user_id>"}` as application/json. The same module is served by wirespeed's ASGI
mode, uvicorn and granian:

    wirespeed fastapi_app:app --interface asgi --host 127.0.0.1 --port PORT --log-level warning
    uvicorn fastapi_app:app --loop uvloop --http httptools --log-level warning --no-access-log
    granian --interface asgi fastapi_app:app --workers 1 --runtime-threads 1 ...

The route is `async def` so FastAPI calls it on the event loop (a plain `def` would run in a
thread pool) and its parameter is a `str`, as in the other servers' JSON workload.
"""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/users/{user_id}")
async def user(user_id: str) -> dict[str, str]:
    return {"user_id": user_id}
