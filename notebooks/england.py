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
# <!-- DEVELOPMENT VERSION written for the report runner: title, one table, one chart. The lead replaces
#      this content and keeps the (empty) parameters cell. -->

# %% tags=["parameters"]
# The England report takes no parameters.

# %%
import html

from IPython.display import HTML, Markdown, display

from sendlib import plots
from sendlib.data import load
from sendlib.geography import ENGLAND_CODE, resolve_area

area = resolve_area(ENGLAND_CODE, levels=("england",))
display(Markdown(f"# SEND high needs funding: {html.escape(str(area['area_name']))}"))

# %% [markdown]
# ## Funding per EHC plan
#
# The high needs block for England against the number of education, health and care plans in the
# January before each financial year (cash terms; a simplified development table).

# %%
national = load("national_series")
table = national[["financial_year", "hnb_gbp", "ehc_plans_january"]].dropna().copy()
table["hnb_m"] = table["hnb_gbp"] / 1e6
table["per_plan"] = table["hnb_gbp"] / table["ehc_plans_january"]
shown = table.rename(columns={"financial_year": "Financial year", "hnb_m": "High needs block (£m)",
                              "ehc_plans_january": "EHC plans (January)", "per_plan": "£ per plan"})
shown = shown[["Financial year", "High needs block (£m)", "EHC plans (January)", "£ per plan"]]
display(HTML(shown.to_html(index=False, border=0, formatters={
    "High needs block (£m)": "{:,.0f}".format, "EHC plans (January)": "{:,.0f}".format,
    "£ per plan": "{:,.0f}".format})))

# %% [markdown]
# ## Actual against necessary funding
#
# "Necessary" keeps the 2015-16 funding per plan for every plan (cash terms, no deflator).

# %%
base = table.iloc[0]
chart_data = table.assign(actual=table["hnb_m"],
                          necessary=table["ehc_plans_january"] * base["per_plan"] / 1e6)
latest = chart_data.iloc[-1]
gap = latest["necessary"] - latest["actual"]
plots.gap_chart(
    chart_data,
    title=f"High needs funding was £{gap:,.0f}m short of the {base['financial_year']} rate per plan "
          f"in {latest['financial_year']}",
    source="DfE high needs block (national series) and SEN2 EHC plans; sendlib",
    unit="£m", ylabel="High needs funding (£m, cash)")
