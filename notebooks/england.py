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

# %% [markdown]
# # SEND high needs funding: England
#
# **The gap between actual and necessary high needs funding.** The high needs block of the Dedicated Schools Grant pays for support for children and young people with
# special educational needs and disabilities (SEND), above all those with an education, health and care (EHC)
# plan. This report asks how much the block would be if funding per plan had kept its 2015-16 value in real
# terms, and compares the councils in the government's **Safety Valve** and **Delivering Better Value (DBV)**
# programmes with the rest.

# %% tags=["parameters"]
# The England report takes no parameters.

# %%
from sendlib import formatting, hexmap, plots, story
from sendlib.display import bullets, heading, say, table

model = story.gap_for("E92000001", "england")
last = story.latest_complete(model)
prices = story.report_prices()
source = f"{story.SOURCE_NATIONAL}; {story.SOURCE_SEN2}; {story.SOURCE_ONS}; sendlib model"
say(story.modified_data_warning())

# %% [markdown]
# ## Key findings

# %%
bullets(story.england_findings())

# %% [markdown]
# ## Actual and necessary funding
#
# *Necessary* funding is the 2015-16 high needs block per EHC plan, held constant in real terms with the GDP
# deflator, times the plans counted in the January before each year. The *gap* is necessary minus actual.

# %%
plots.gap_chart(story.chart_frame(model), title=story.gap_chart_title(model), source=source,
                unit="£m", ylabel="Funding (£m, cash)")
plots.gap_chart(story.chart_frame(model, real=True), title=story.gap_chart_title(model, real=True), source=source,
                unit="£m", ylabel=f"Funding (£m, {prices} prices)")
table(story.gap_table(model, "england-gap"), notes=story.national_table_notes())

# %% [markdown]
# ## Funding per plan in real terms

# %%
plots.grouped_line_chart(
    model.dropna(subset=["real_per_plan_index"]).assign(series="England"), group="series",
    value="real_per_plan_index", reference=100, ylabel=f"Real funding per plan ({model['base_year'].iloc[0]} = 100)",
    title=story.index_title(model), source=source)

# %% [markdown]
# ## EHC plans have grown faster than the money

# %%
growth = story.growth_frame(model)
plots.index_chart(growth, columns={"plans": "EHC plans (January before the year)", "funding": "High needs block (cash)"},
                  title=story.growth_title(growth), source=f"{story.SOURCE_SEN2}; {story.SOURCE_NATIONAL}")

# %% [markdown]
# ## How much do the model's choices matter?
#
# The same calculation with each choice changed in turn, for one year.

# %%
table(story.sensitivity_table(last["financial_year"]), notes=story.sensitivity_summary(last["financial_year"]))

# %% [markdown]
# ## If plans keep growing: a projection
#
# A continuation of the last six years' growth in EHC plans, **not a forecast**: it assumes nothing about
# policy. Necessary funding is in the latest year's prices.

# %%
table(story.projection_table())

# %% [markdown]
# ## Who is in Safety Valve and Delivering Better Value

# %%
say(story.coverage())
membership = story.membership_frame()
hexmap.category_map(membership, title=story.membership_title(membership), source=story.MAP_SOURCE,
                    category="group", family="programme_group", legend_title="Programme (latest status)")
table(story.programme_overview_table(),
      notes="DfE money: the total revenue commitment of each Safety Valve agreement where a public source states "
            "it; DBV implementation grants of up to £1m are ceilings and not counted.")

# %% [markdown]
# ## Safety Valve and DBV councils against all others
#
# Medians and interquartile ranges (the middle half of councils) in the latest year; n is the number of
# councils with data. Groups marked * have fewer than five councils.

# %%
table(story.group_summary_table(), notes=story.coverage(with_groups=True))
trend = story.group_trend_frame("ehc_plans_index_2015")
plots.grouped_line_chart(
    trend, year="year", group="group", value="median", xlabel="January", reference=100,
    ylabel="Median index (Jan 2015 = 100)", title=story.group_trend_title(trend),
    source=f"{story.SOURCE_SEN2}; {story.SOURCE_PROGRAMMES}; sendlib")

# %% [markdown]
# Each Safety Valve cohort's median, with a diamond at the January of its agreement year: the last count
# before the agreements, which were mostly signed in the February or March after it.

# %%
cohorts, entries = story.cohort_trend_frame("ehc_plans_index_2015")
plots.grouped_line_chart(
    cohorts, year="year", group="group", value="median", xlabel="January", reference=100, marks=entries,
    mark_label="January of the agreement year", ylabel="Median index (Jan 2015 = 100)",
    title=story.cohort_trend_title(cohorts, entries),
    source=f"{story.SOURCE_SEN2}; {story.SOURCE_PROGRAMMES}; sendlib")

# %% [markdown]
# ## Did Safety Valve agreements change the growth of EHC plans?
#
# An event study compares each Safety Valve council's plans, before and after its agreement, with councils
# never in Safety Valve (Sun and Abraham's estimator, which allows for agreements starting in different years
# and for effects that differ between cohorts). Estimates are differences in log EHC plans: -0.05 is about 5%
# fewer plans than the comparison would suggest.

# %%
effects_display, pretrend, caveats = story.effects_table("log_ehc_plans")
effects_frame = story.effects_frame("log_ehc_plans")
plots.event_study_chart(
    effects_frame, ylabel="Difference in log EHC plans", title=story.effects_title(effects_frame),
    source=f"{story.SOURCE_SEN2}; programme lists; sendlib event study (LA-clustered 95% intervals)")
table(effects_display)
say(pretrend, story.effects_flag_sentence("log_ehc_plans"), story.effects_robustness("log_ehc_plans"))
heading("The other outcomes", 3)
say("The same event study for the other outcomes, one year after the first count after the agreement. A pre-trend "
    "p-value below 0.05 means Safety Valve councils were already diverging before their agreements, and the "
    "estimate should not be read as an effect.")
table(story.effects_overview())
heading("The Safety Valve councils in each cohort", 3)
bullets(story.effects_cohort_lines("log_ehc_plans"), css_class="caveats")
heading("What this can and cannot show", 3)
bullets(caveats + story.effects_notes("log_ehc_plans", "never"), css_class="caveats")

# %% [markdown]
# ## Every council
#
# Each council against its own funding per plan in its first year of council allocations (100 = it kept its
# real value), and the growth in its EHC plans since January 2015. The table below holds the same numbers.

# %%
index = story.index_frame()
hexmap.value_map(index, title=story.index_map_title(index), source=story.MAP_SOURCE, value="index",
                 legend_title=f"Real funding per plan, {story.years_in_hand()['la_last']} (own base = 100)",
                 bins=[60, 70, 80, 90, 100, 110], centre=100)
growth = story.growth_frame_by_la()
hexmap.value_map(growth, title=story.growth_map_title(growth), source=story.MAP_SOURCE, value="growth",
                 legend_title="Growth in EHC plans since January 2015 (%)", bins=[100, 150, 200, 250, 300],
                 fmt=lambda v: formatting.percent(v, 0))
table(story.las_table())

# %% [markdown]
# ## Methods and caveats

# %%
bullets(story.method_notes("england"), css_class="caveats")
heading("Data flags", 3)
bullets(story.data_warnings(), css_class="caveats")
table(story.national_sources_table())
heading("Corrections applied to the official files", 3)
bullets(story.corrections_list(), css_class="caveats")

# %% [markdown]
# ## Sources

# %%
table(story.sources_table())
