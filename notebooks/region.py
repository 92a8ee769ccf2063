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
region = "E12000007"

# %%
from sendlib import formatting, hexmap, plots, story
from sendlib.display import bullets, heading, say, table
from sendlib.feedback.report import show_section

area = story.area(region, "region")
name, code = area["area_name"], area["area_code"]
model = story.gap_for(code, "region")
last, base = story.latest_complete(model), model.iloc[0]
heading(f"SEND high needs funding: {name}", 1)
say("How far the high needs block has fallen behind the growth in education, health and care (EHC) plans in this "
    "region and each of its councils, which councils are in the government's **Safety Valve** and **Delivering "
    "Better Value (DBV)** programmes, and how they compare with the rest and with England.",
    story.modified_data_warning())

# %% [markdown]
# ## Key findings

# %%
bullets(story.region_findings(code))

# %% [markdown]
# ## Actual and necessary funding
#
# *Necessary* funding holds funding per EHC plan in a base year constant in real terms, times the plans counted in
# the January before each year. The chart and the yearly table add up the region's councils, each on its own
# first-year funding per plan; the lens table beside it also shows the region as one (its own rate) and at
# England's 2015-16 rate.

# %%
plots.gap_chart(
    story.chart_frame(model),
    title=f"{name}: high needs funding was {formatting.money(last['gap_gbp'])} short of need in "
          f"{last['financial_year']}",
    source=f"{story.SOURCE_DSG}; {story.SOURCE_SEN2}; {story.SOURCE_ONS}; sendlib model",
    unit="£m", ylabel="Funding (£m, cash)")
table(story.gap_table(model, f"gap-{code}"),
      notes=f"Sum of the councils' own-base figures (base years from {base['base_year']}); real terms in "
            f"{last['prices']} prices.")
heading("Three ways to measure the gap", 3)
table(story.lens_table(code, "region"))
bullets(story.lens_sentences(code, "region"))

# %% [markdown]
# ## Funding per plan against England

# %%
index = story.region_index_frame(code)
plots.grouped_line_chart(
    index, group="group", value="index", reference=100, highlight=name,
    ylabel=f"Real funding per plan ({base['financial_year']} = 100)", title=story.region_index_title(index, name),
    source=f"{story.SOURCE_DSG}; {story.SOURCE_NATIONAL}; {story.SOURCE_SEN2}; {story.SOURCE_ONS}; sendlib model")

# %% [markdown]
# ## The region's councils, ranked
#
# Each council against its own funding per plan in its base year: 100 means real funding per plan has kept its
# base-year value; below 100, it has been eroded. Safety Valve and DBV councils are coloured.

# %%
councils = story.region_la_codes(code)
index = story.index_frame()
hexmap.value_map(index, title=story.index_map_title(index, councils), source=story.MAP_SOURCE, value="index",
                 legend_title=f"Real funding per plan, {story.years_in_hand()['la_last']} (own base = 100)",
                 bins=[60, 70, 80, 90, 100, 110], centre=100, region=code)
ranking = story.region_la_ranking(code)
marks = story.programme_marks()
lowest_title, fastest_title = story.ranking_titles(ranking, name)
years = story.years_in_hand()
plots.ranked_bar_chart(
    ranking, value="real_per_plan_index", label="area_name", highlight=marks,
    xlabel=f"Real funding per plan, {last['financial_year']} ({base['financial_year']} = 100)", title=lowest_title,
    source=f"{story.SOURCE_DSG}; {story.SOURCE_SEN2}; {story.SOURCE_ONS}; programme lists; sendlib model")
plots.ranked_bar_chart(
    ranking, value="growth_since_2015", label="area_name", highlight=marks, unit="%",
    xlabel=f"Growth in EHC plans, January {years['january_first']} to January {years['january_last']} (%)",
    title=fastest_title, source=f"{story.SOURCE_SEN2}; programme lists; sendlib")

# %% [markdown]
# ## Safety Valve and DBV councils against the rest

# %%
membership = story.membership_frame()
hexmap.category_map(membership, title=story.membership_title(membership, councils, name),
                    source=story.MAP_SOURCE, category="group", family="programme_group",
                    legend_title="Programme (latest status)", region=code)
growth = story.growth_frame_by_la()
hexmap.value_map(growth, title=story.growth_map_title(growth, councils), source=story.MAP_SOURCE, value="growth",
                 legend_title="Growth in EHC plans since January 2015 (%)", bins=[100, 150, 200, 250, 300],
                 fmt=lambda v: formatting.percent(v, 0), region=code)
table(story.las_table(code))
say(story.coverage())
warnings = story.data_warnings(story.region_la_codes(code))
if warnings:
    heading("Check these figures", 3)
    bullets(warnings, css_class="caveats")

# %%
show_section("region", code)

# %% [markdown]
# ## Methods and caveats

# %%
bullets(story.method_notes("region"), css_class="caveats")

# %% [markdown]
# ## Sources

# %%
table(story.sources_table())
