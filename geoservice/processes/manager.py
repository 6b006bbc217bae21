# SPDX-License-Identifier: GPL-3.0-or-later
"""Jobs that belong to their caller: pygeoapi's TinyDB job manager with checks and owners.

- Inputs, role and area are checked in the request, before a job exists, so a bad input is
  400, a role that may not run the process 401/403 and an area outside the caller's scope
  404 (the processor's ``check``), for synchronous and asynchronous runs alike.
- Each job records its owner (the caller's ``sub``); ``/jobs`` lists only the caller's jobs
  (a force analyst: every job) and another caller's job id is 404, results included.
- ``connection`` (the TinyDB JSON file) and ``output_dir`` live in the service's runtime
  folder; asynchronous jobs run in a thread of the worker that accepted them.
"""
from __future__ import annotations

from typing import Any

from pygeoapi.process.base import JobNotFoundError
from pygeoapi.process.manager.tinydb_ import TinyDBManager

from ..context import current

__all__ = ["ScopedTinyDBManager"]


class ScopedTinyDBManager(TinyDBManager):
    """TinyDB jobs, checked before they start and visible only to their owner."""

    def execute_process(self, process_id: str, data_dict: dict, *args: Any, **kwargs: Any):
        processor = self.get_processor(process_id)
        # Refuse before a job exists (validated audits a refused personal-data write).
        check = getattr(processor, "validated", None) or getattr(processor, "check", None)
        if check is not None:
            check(data_dict)
        return super().execute_process(process_id, data_dict, *args, **kwargs)

    def add_job(self, job_metadata: dict) -> str:
        p = current().principal
        return super().add_job({**job_metadata, "lpt_owner": p.sub})

    @staticmethod
    def _mine(job: dict) -> bool:
        p = current().principal
        return p.role == "force_analyst" or job.get("lpt_owner") == p.sub

    def get_jobs(self, status=None, limit=None, offset=None) -> dict:
        jobs = [j for j in super().get_jobs(status=status)["jobs"] if self._mine(j)]
        matched = len(jobs)
        if offset:
            jobs = jobs[offset:]
        if limit:
            jobs = jobs[:limit]
        return {"jobs": jobs, "numberMatched": matched}

    def get_job(self, job_id: str) -> dict:
        job = super().get_job(job_id)
        if not self._mine(job):
            raise JobNotFoundError()
        return job

    def get_job_result(self, job_id: str):
        self.get_job(job_id)
        return super().get_job_result(job_id)

    def delete_job(self, job_id: str) -> bool:
        self.get_job(job_id)
        return super().delete_job(job_id)
