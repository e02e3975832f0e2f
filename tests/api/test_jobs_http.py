"""The jobs API through the real local server, with stand-in job processes (see scripts.py)."""

from __future__ import annotations

import threading
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from tests.support.jobs_api import merge_params, wait_for


def submit(api, name: str, key: str | None = None, **extra):
    headers = {"Idempotency-Key": key} if key else {}
    return api.post("/jobs", json={"kind": "merge", "params": merge_params(name, **extra)}, headers=headers)


def test_job_runs_to_success_with_progress_outputs_and_logs(api, models_dir):
    created = submit(api, "ok-1")
    assert created.status_code == 201
    job = created.json()
    assert job["kind"] == "merge" and job["name"] == "ok-1" and job["status"] in ("QUEUED", "STARTING", "RUNNING")
    done = wait_for(api, job["job_id"])
    assert done["status"] == "SUCCEEDED", done
    assert done["progress"] == {"step": 3, "total": 3, "eta_s": 0.0, "message": "step 3"}
    assert done["started_at"] and done["finished_at"] and done["error"] is None
    by_type = {o["type"]: o for o in done["outputs"]}
    assert by_type["Stable-diffusion"] == {
        "type": "Stable-diffusion",
        "name": "ok-1.safetensors",
        "key": "Stable-diffusion/ok-1.safetensors",
        "size": 12,
    }
    assert by_type["images"]["key"] == f"job-outputs/{job['job_id']}/images/00000-1.png"
    # The model went into the tree, where the models API sees it.
    assert (models_dir / "Stable-diffusion" / "ok-1.safetensors").read_bytes() == b"merged-bytes"
    assert api.get("/models/Stable-diffusion/ok-1.safetensors").status_code == 200

    log = api.get(f"/jobs/{job['job_id']}/logs").json()
    assert log["complete"] is True
    assert "stderr line 2" in log["lines"] and any('"step": 3' in line for line in log["lines"])


def test_inputs_are_staged_per_channel(api, tmp_path):
    job = wait_for(api, submit(api, "ok-2").json()["job_id"])
    staged = (tmp_path / "data" / "jobs" / job["job_id"] / "channels.txt").read_text()
    assert staged == '["model_a", "model_b"]'


def test_output_urls_download_and_refuse_tampering(api):
    job = wait_for(api, submit(api, "ok-3").json()["job_id"])
    outputs = api.get(f"/jobs/{job['job_id']}/outputs").json()["outputs"]
    image = next(o for o in outputs if o["type"] == "images")
    assert httpx.get(image["url"]).content == b"\x89PNG fake"

    url = urlsplit(image["url"])
    flipped = url.query.replace("signature=", "signature=0" if "signature=0" not in url.query else "signature=1", 1)
    assert httpx.get(urlunsplit(url._replace(query=flipped))).status_code == 403
    other_key = url.path.replace("images/00000-1.png", "images/other.png")
    assert httpx.get(urlunsplit(url._replace(path=other_key))).status_code == 403
    # A download URL is not an upload URL.
    assert httpx.put(image["url"], content=b"x").status_code == 403


def test_idempotent_submission(api):
    first = submit(api, "ok-4", key="retry-me-1")
    again = submit(api, "ok-4", key="retry-me-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["job_id"] == again.json()["job_id"]
    different = submit(api, "ok-5", key="retry-me-1")
    assert different.status_code == 409 and "different request" in different.json()["message"]
    assert len(api.get("/jobs", params={"limit": 200}).json()["jobs"]) == 1


def test_concurrent_duplicates_make_one_job(api):
    answers = []

    def post():
        answers.append(submit(api, "block-dup", key="same-key-concurrent"))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in answers)
    ids = {r.json()["job_id"] for r in answers if r.status_code in (200, 201)}
    assert codes.count(201) == 1 and set(codes) <= {200, 201, 409}
    assert len(ids) == 1
    assert len(api.get("/jobs").json()["jobs"]) == 1
    api.post(f"/jobs/{ids.pop()}/cancel")


def test_log_pages_in_order_until_complete(api):
    job_id = submit(api, "chatty-1").json()["job_id"]
    wait_for(api, job_id)
    lines, cursor, pages = [], None, 0
    while True:
        page = api.get(f"/jobs/{job_id}/logs", params={"limit": 50, **({"cursor": cursor} if cursor else {})}).json()
        lines += page["lines"]
        cursor, pages = page["next_cursor"], pages + 1
        if page["complete"]:
            break
        assert pages < 10
    numbered = [line for line in lines if line.startswith("line ")]
    assert numbered == [f"line {i:03d}" for i in range(120)]
    assert pages >= 3
    again = api.get(f"/jobs/{job_id}/logs", params={"cursor": cursor}).json()
    assert again.pop("job") == api.get(f"/jobs/{job_id}").json()  # the record rides along: one request a poll
    assert again == {"lines": [], "next_cursor": cursor, "at_end": True, "complete": True}
    assert api.get(f"/jobs/{job_id}/logs", params={"cursor": "abc"}).status_code == 400


def test_failed_job_reports_the_jobs_own_error(api):
    job = wait_for(api, submit(api, "fail-1").json()["job_id"])
    assert job["status"] == "FAILED" and job["error"] == "model_b has no tensors"
    assert job["outputs"] == []
    crashed = wait_for(api, submit(api, "crash-1").json()["job_id"])
    assert crashed["status"] == "FAILED"
    assert crashed["error"] == "exit code 3: ModuleNotFoundError: No module named 'torch'"


def test_cancel_over_http(api):
    job_id = submit(api, "block-cancel").json()["job_id"]
    wait_for(api, job_id, ("RUNNING",))
    cancelled = api.post(f"/jobs/{job_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "CANCELLED"
    again = api.post(f"/jobs/{job_id}/cancel")
    assert again.status_code == 409 and "already CANCELLED" in again.json()["message"]
    assert wait_for(api, job_id)["status"] == "CANCELLED"


def test_list_filters_and_pages_newest_first(api):
    ids = [wait_for(api, submit(api, f"ok-list{i}").json()["job_id"])["job_id"] for i in range(3)]
    failed = wait_for(api, submit(api, "fail-list").json()["job_id"])["job_id"]
    page1 = api.get("/jobs", params={"limit": 2}).json()
    page2 = api.get("/jobs", params={"limit": 2, "cursor": page1["next_cursor"]}).json()
    assert [j["job_id"] for j in page1["jobs"] + page2["jobs"]] == [failed, *reversed(ids)]
    assert page2["next_cursor"] is None
    assert [j["job_id"] for j in api.get("/jobs", params={"status": "FAILED"}).json()["jobs"]] == [failed]
    assert api.get("/jobs", params={"kind": "train"}).json() == {"jobs": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"kind": "paint", "params": {}}, 422, "kind"),
        ({"kind": "merge"}, 422, "params"),
        ({"kind": "merge", "params": merge_params("x", stpes=3)}, 422, "params.stpes"),
        ({"kind": "merge", "params": merge_params("x", multiplier=99)}, 422, "params.multiplier"),
        ({"kind": "merge", "params": {**merge_params("x"), "model_a": "../../etc/passwd"}}, 422, "params.model_a"),
        ({"kind": "merge", "params": {**merge_params("x"), "model_a": "Lora/a.safetensors"}}, 422, "Stable-diffusion/"),
        (
            {"kind": "merge", "params": {**merge_params("x"), "model_b": "Stable-diffusion/missing.safetensors"}},
            400,
            "not in the model tree",
        ),
        ({"kind": "merge", "params": merge_params("a")}, 409, "already exists"),
        ({"kind": "txt2img", "params": {"prompt": "p", "model": "nope"}}, 400, "no converted model"),
        (
            {"kind": "img2img", "params": {"prompt": "p", "model": "a.safetensors", "init_image": "/etc/passwd"}},
            422,
            "params.init_image",
        ),
        (
            {
                "kind": "img2img",
                "params": {"prompt": "p", "model": "a.safetensors", "init_image": "job-inputs/g/x.png"},
            },
            400,
            "was not uploaded",
        ),
        (
            {"kind": "train", "params": {"base_model": "org/repo", "steps": 2, "output_name": "l", "dataset": "../x"}},
            422,
            "params.dataset",
        ),
        (
            {"kind": "train", "params": {"base_model": "org/repo", "steps": 2, "output_name": "l", "dataset": "empty"}},
            400,
            "is empty",
        ),
        ({"kind": "convert", "params": {"model": "diffusers/x", "output_name": "c"}}, 422, "params.model"),
    ],
)
def test_bad_submissions_say_what_to_fix(api, body, status, says):
    answer = api.post("/jobs", json=body)
    assert answer.status_code == status, answer.text
    assert says in answer.json()["message"]
    assert api.get("/jobs").json()["jobs"] == []


def test_unknown_jobs_and_bad_queries(api):
    assert api.get("/jobs/0123456789abcdef0123456789abcdef").status_code == 404
    assert api.get("/jobs/../../etc").status_code == 404
    assert api.post("/jobs/nope/cancel").status_code == 404
    assert api.get("/jobs", params={"status": "DONE"}).status_code == 422
    assert api.get("/jobs", params={"cursor": "zz"}).status_code == 400
    assert (
        api.post(
            "/jobs", json={"kind": "merge", "params": merge_params("x")}, headers={"Idempotency-Key": "has space"}
        ).status_code
        == 400
    )


def test_job_input_upload_and_img2img_reference(api, tmp_path):
    slot = api.post("/job-inputs", json={"filename": "init.png", "size": 5, "group": "mine"})
    assert slot.status_code == 201
    body = slot.json()
    assert body["key"] == "job-inputs/mine/init.png" and body["group"] == "mine" and body["method"] == "PUT"
    assert httpx.put(body["url"], content=b"1234").status_code == 400  # not the declared size
    assert httpx.put(body["url"], content=b"12345").status_code == 200
    assert (tmp_path / "data" / "job-inputs" / "mine" / "init.png").read_bytes() == b"12345"
    assert httpx.put(body["url"].replace("size=5", "size=6"), content=b"123456").status_code == 403

    default_group = api.post("/job-inputs", json={"filename": "cap.txt", "size": 1}).json()
    assert default_group["key"] == f"job-inputs/{default_group['group']}/cap.txt"
    for bad, says in (
        ((("../x.png", 1, None)), "filename"),
        (("x.exe", 1, None), "must end in"),
        (("x.png", 0, None), "size"),
        (("x.png", 1, "a/b"), "group"),
    ):
        filename, size, group = bad
        answer = api.post(
            "/job-inputs", json={"filename": filename, "size": size, **({"group": group} if group else {})}
        )
        assert answer.status_code in (400, 422) and says in answer.json()["message"], answer.text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/jobs"),
        ("GET", "/jobs"),
        ("GET", "/jobs/0123456789abcdef0123456789abcdef"),
        ("GET", "/jobs/0123456789abcdef0123456789abcdef/logs"),
        ("GET", "/jobs/0123456789abcdef0123456789abcdef/outputs"),
        ("POST", "/jobs/0123456789abcdef0123456789abcdef/cancel"),
        ("POST", "/job-inputs"),
    ],
)
def test_job_routes_need_the_token(start_server, method, path):
    handle, _ = start_server()
    body = {"kind": "merge", "params": merge_params("x")} if path == "/jobs" else {"filename": "a.png", "size": 1}
    kwargs = {"json": body} if method == "POST" else {}
    missing = httpx.request(method, handle.url + path, **kwargs)
    wrong = httpx.request(method, handle.url + path, headers={"x-api-key": "wrong-token"}, **kwargs)
    assert (missing.status_code, wrong.status_code) == (401, 403)
