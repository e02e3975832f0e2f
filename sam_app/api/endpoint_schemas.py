"""Bodies of the /endpoints routes."""

from __future__ import annotations

from pydantic import BaseModel, Field

from sam_app.core.endpoints import DEFAULT_INSTANCE_TYPE, DEFAULT_NAME, MAX_INSTANCES


class PutEndpoint(BaseModel):
    name: str = Field(DEFAULT_NAME, max_length=30, description="txt2img/img2img jobs use the endpoint named 'default'")
    instance_type: str = Field(DEFAULT_INSTANCE_TYPE, max_length=40)
    min_instances: int = Field(0, ge=0, le=MAX_INSTANCES, description="0: scales to zero when idle (costs nothing)")
    max_instances: int = Field(1, ge=1, le=MAX_INSTANCES)
    target_backlog: float = Field(5.0, gt=0, le=1000, description="queued requests per instance to aim for")


class Endpoint(BaseModel):
    name: str
    status: str = Field(
        description="SageMaker endpoint status (Creating, InService, Updating, Failed…); 'local' is always InService"
    )
    instance_type: str
    min_instances: int
    max_instances: int
    current_instances: int | None = None
    scaling_applied: bool | None = Field(
        None, description="AWS: whether the scaling is registered (it is, once the endpoint is InService)"
    )


class EndpointList(BaseModel):
    endpoints: list[Endpoint]
    mode: str


class EndpointDeleted(BaseModel):
    name: str
    deleted: bool = True
