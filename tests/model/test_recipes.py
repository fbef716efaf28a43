"""The shipped training recipes load and stay consistent with each other."""

from pathlib import Path


def test_every_shipped_recipe_loads_and_the_gpu_full_recipe_trains_the_same_run():
    from cds.model.recipe import load_recipe

    shipped = (Path(__file__).parents[2] / "recipes").glob("*.yaml")
    recipes = {p.stem: load_recipe(p) for p in shipped}
    assert {"sft_demo", "dpo_demo", "sft_full", "sft_full_gpu"} <= set(recipes)
    full, gpu = recipes["sft_full"], recipes["sft_full_gpu"]
    # Only how a step is computed differs: the same sequences per optimizer step, data, schedule.
    assert (
        full.batch_size * full.gradient_accumulation_steps
        == gpu.batch_size * gpu.gradient_accumulation_steps
    )
    ignored = {"name", "batch_size", "gradient_accumulation_steps"}
    ignored |= {"gradient_checkpointing", "save_steps"}
    assert full.model_dump(exclude=ignored) == gpu.model_dump(exclude=ignored)
