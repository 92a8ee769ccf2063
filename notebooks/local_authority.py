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
from sendlib import hexmap, plots, story
from sendlib.display import bullets, callout, heading, questions, say, table
from sendlib.feedback.report import show_section

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
if code in story.group_lookup().index:  # a current council (abolished ones are not on the map)
    hexmap.locator_map(code)
bullets(story.la_headline_lines(code))

# %% [markdown]
# ## Funding against need
#
# *Necessary* funding holds a funding per EHC plan constant in real terms, times the council's plans in the January
# before each year. Two lenses, side by side: the council's **own base** (its own first-year funding per plan) and
# the **national rate** (England's 2015-16 funding per plan). The chart and the yearly table use the own base.

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
          notes=f"Own base: {base['base_year']}; real terms in {last['prices']} prices.")
    heading("Two lenses", 3)
    table(story.lens_table(code, "la"))
    bullets(story.lens_sentences(code, "la") + [line for line in [story.joined_base_line(code)] if line])

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

# %%
show_section("la", code)

# %% [markdown]
# ## Briefing: the questions to put to the council

# %%
questions(story.la_briefing(code))
heading("The council's DSG balance, year by year", 3)
table(story.deficit_trajectory(code))

# %% [markdown]
# ## Methods and caveats

# %%
bullets(story.method_notes("la"), css_class="caveats")

# %% [markdown]
# ## Sources

# %%
table(story.sources_table())
