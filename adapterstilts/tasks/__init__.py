"""Task registry. Importing this package registers every task module listed below."""
from adapterstilts.tasks.base import TASKS, DataRequirement, Source, Task, get_task, register_task
from adapterstilts.tasks import intermediate, xtreme  # noqa: F401,E402  (registration)
from adapterstilts.tasks import xglue  # noqa: F401,E402  (registration)
from adapterstilts.tasks import xtreme_r  # noqa: F401,E402  (registration: XTREME-R's new tasks)
from adapterstilts.tasks import translated  # noqa: F401,E402  (registration: translate-train intermediate data)

__all__ = ["TASKS", "DataRequirement", "Source", "Task", "get_task", "register_task"]
