# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python (sendlib)
#     language: python
#     name: sendlib
# ---

# %% tags=["parameters"]
la = "886"

# %%
from sendlib import plots, story
from sendlib.display import bullets, callout, heading, questions, say, table

area = story.area(la, "la")
name, code = area["area_name"], area["area_code"]
heading(f"SEND high needs funding: {name}", 1)
say(f"{name} ({code}; ONS {area['ons_code']}), {area['region_name']}. A briefing for union branches: the council's "
    "place in the government's Safety Valve and Delivering Better Value programmes, how its high needs funding has "
    "kept up with its EHC plans, how it compares, and the questions to put to it.", story.modified_data_warning())

# %% [markdown]
# ## Is your LA included?

# %%
callout(story.la_status_lines(code), title=f"{name}: Safety Valve and Delivering Better Value")
bullets(story.la_headline_lines(code))
warnings = story.data_warnings([code])
if warnings:
    callout(warnings, title="Check these figures")

# %% [markdown]
# ## Funding against need
#
# *Necessary* funding holds the council's own high needs block per EHC plan in its base year (the first year of council
# allocations in hand) constant in real terms, times its plans in the January before each year.

# %%
model = story.gap_for(code, "la")
if model.empty:
    say(story.no_model_reason(code))
else:
    last, base = story.latest_complete(model), model.iloc[0]
    plots.gap_chart(
        story.chart_frame(model), title=story.la_gap_title(model),
        source=f"{story.SOURCE_DSG}; {story.SOURCE_SEN2}; {story.SOURCE_ONS}; sendlib model",
        unit="£m", ylabel="Funding (£m, cash)")
    table(story.gap_table(model, f"gap-{code}"),
          notes=f"Base year {base['base_year']}; real terms in {last['prices']} prices.")

# %% [markdown]
# ## How the council compares
#
# The council's latest figures against its region, England, the median of its programme group and the median of
# its ten DfE statistical neighbours (councils most like it).

# %%
comparison = story.comparison_table(code)
if comparison.empty:
    say("No indicators for this council in the latest years (it may have been abolished; see its successors).")
else:
    table(comparison)
trend = story.la_plans_trend(code)
if not trend.empty:
    plots.grouped_line_chart(
        trend, year="year", group="group", value="value", xlabel="January", reference=100,
        ylabel="EHC plans (January 2015 = 100)", title=story.la_plans_title(trend, name),
        source=f"{story.SOURCE_SEN2}; sendlib")

# %% [markdown]
# ## Briefing: the questions to put to the council

# %%
questions(story.la_briefing(code))

# %% [markdown]
# ## Methods and caveats

# %%
bullets(story.method_notes("la"), css_class="caveats")

# %% [markdown]
# ## Sources

# %%
table(story.sources_table())
