"""Process management: BPMN execution on SpiffWorkflow, versions, links, approvals."""

from .approvals import Approval, ApprovalCheck, ApprovalMatrix, MatrixRule, RiskClass, check_approvals
from .bpmn_diff import ProcessDiff, diff_processes, migration_blockers
from .engine import (
    InstanceStateError,
    InstanceStatus,
    LoadedProcess,
    ProcessDefinitionError,
    ProcessEngine,
    ProcessError,
    ProcessExecutionError,
    ProcessInstance,
    UserTask,
    load_process,
)
from .execution_log import ExecutionLog
from .linking import FailurePolicy, Link, LinkCycleError, LinkGraph, Outcome, Propagation, links_from_bpmn, propagate_failure
from .versioning import (
    Bump,
    Draft,
    ProcessContent,
    ProcessHistory,
    PublishedVersion,
    PublishRejected,
    SemVer,
    VersioningError,
)

__all__ = [
    "Approval",
    "ApprovalCheck",
    "ApprovalMatrix",
    "Bump",
    "Draft",
    "ExecutionLog",
    "FailurePolicy",
    "InstanceStateError",
    "InstanceStatus",
    "Link",
    "LinkCycleError",
    "LinkGraph",
    "LoadedProcess",
    "MatrixRule",
    "Outcome",
    "ProcessContent",
    "ProcessDefinitionError",
    "ProcessDiff",
    "ProcessEngine",
    "ProcessError",
    "ProcessExecutionError",
    "ProcessHistory",
    "ProcessInstance",
    "Propagation",
    "PublishRejected",
    "PublishedVersion",
    "RiskClass",
    "SemVer",
    "UserTask",
    "VersioningError",
    "check_approvals",
    "diff_processes",
    "links_from_bpmn",
    "load_process",
    "migration_blockers",
    "propagate_failure",
]
