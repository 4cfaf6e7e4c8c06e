"""The app the container example serves."""

import os

import wirespeed

app = wirespeed.App()


@app.get("/")
def index(request: wirespeed.Request) -> dict[str, object]:
    return {"hello": "container", "pid": os.getpid()}
