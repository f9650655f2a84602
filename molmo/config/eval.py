"""The eval suite recipe (``kind = "eval"``): which model, which tasks on which local data, how.

Example (``recipes/eval-suite.toml``)::

    kind = "eval"
    name = "academic-11"
    model = "ckpts/molmo-7b-d"          # optional: --model wins; none at all = the bundled demo model
    batch_size = 4

    [[tasks]]
    task = "vqa2"                       # a task name or family alias (molmo eval --help lists them)
    data = ["data/vqa2/v2_OpenEnded_mscoco_val2014_questions.json"]
    # style / max_new_tokens / max_crops / limit override the task's own settings

Task names are checked against the task registry when the suite runs (``molmo.eval``), since this
module must import without torch and below ``molmo.eval`` in the import layering.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from molmo.config.base import StrictModel
from molmo.config.recipe import register_recipe_schema


class EvalTaskConfig(StrictModel):
    """One task of a suite and its local data."""

    task: str = Field(..., min_length=1, description="Task name or family alias (vqa2, docvqa, chartqa, shapes, ...).")
    data: list[str] = Field(
        default_factory=list,
        description="Local data: the benchmark's official JSON / HF parquet file or directory, or shards in "
        "our schema. Empty: only tasks that generate their own samples (shapes).",
    )
    style: str | None = Field(None, description="Style prefix override (default: the task's Molmo style).")
    max_new_tokens: int | None = Field(None, ge=1, description="Generation length override (default: the task's).")
    max_crops: int | None = Field(
        None, ge=1, description="Crop budget override (default: the task's, e.g. 36 for high-res benchmarks)."
    )
    limit: int | None = Field(None, gt=0, description="Evaluate only the first N samples of this task.")


class EvalSuiteRecipe(StrictModel):
    """A suite of eval tasks run by ``molmo eval RECIPE``."""

    kind: Literal["eval"] = Field("eval", description="Recipe kind (selects the schema).")
    name: str = Field("eval", min_length=1, description="Suite name, used for the default output directory.")
    model: str | None = Field(None, description="Native checkpoint directory (default: --model, else the demo model).")
    output_dir: str | None = Field(None, description="Output directory (default: $MOLMO_HOME/eval/<name>).")
    batch_size: int = Field(8, ge=1, description="Prompts generated together per forward pass.")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="Where the model runs (auto: cuda if available).")
    limit: int | None = Field(None, gt=0, description="Default per-task sample limit (a task's own limit wins).")
    tasks: list[EvalTaskConfig] = Field(..., min_length=1, description="The tasks, evaluated in this order.")

    @model_validator(mode="after")
    def _unique_tasks(self) -> EvalSuiteRecipe:
        names = [t.task.strip().lower().replace("-", "_") for t in self.tasks]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"tasks listed more than once: {', '.join(repeated)}")
        return self


register_recipe_schema("eval", EvalSuiteRecipe)
