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
#      this content and keeps the parameter `region`. -->

# %% tags=["parameters"]
region = "London"

# %%
import html

from IPython.display import HTML, Markdown, display

from sendlib import plots
from sendlib.data import load
from sendlib.geography import resolve_area
from sendlib.periods import january_for_financial_year

area = resolve_area(region, levels=("region",), parameter="region")
name = str(area["area_name"])
display(Markdown(f"# SEND high needs funding: {html.escape(name)}"))

# %% [markdown]
# ## Funding and plans
#
# The region's high needs block (before deductions) and its EHC plans in the January before each year.

# %%
hnb = load("high_needs_block")
ehcp = load("ehcp")
rows = hnb[hnb["area_code"] == area["area_code"]][["financial_year", "hnb_before_deductions_gbp"]].copy()
rows["january"] = [january_for_financial_year(y) for y in rows["financial_year"]]
plans = ehcp[ehcp["area_code"] == area["area_code"]][["january", "ehc_plans"]]
table = rows.merge(plans, on="january", how="left").sort_values("financial_year")
table["hnb_m"] = table["hnb_before_deductions_gbp"] / 1e6
table["per_plan"] = table["hnb_before_deductions_gbp"] / table["ehc_plans"]
shown = table.rename(columns={"financial_year": "Financial year", "hnb_m": "High needs block (£m)",
                              "ehc_plans": "EHC plans (January)", "per_plan": "£ per plan"})
display(HTML(shown[["Financial year", "High needs block (£m)", "EHC plans (January)", "£ per plan"]].to_html(
    index=False, border=0, formatters={"High needs block (£m)": "{:,.0f}".format,
                                       "EHC plans (January)": "{:,.0f}".format, "£ per plan": "{:,.0f}".format})))

# %% [markdown]
# ## Growth since the first year

# %%
first, last = table.iloc[0], table.iloc[-1]
plans_growth = (last["ehc_plans"] / first["ehc_plans"] - 1) * 100
money_growth = (last["hnb_m"] / first["hnb_m"] - 1) * 100
plots.index_chart(
    table, columns={"ehc_plans": "EHC plans", "hnb_m": "High needs block"},
    title=f"{name}: EHC plans grew {plans_growth:.0f}% while funding grew {money_growth:.0f}% "
          f"from {first['financial_year']} to {last['financial_year']}",
    source="DfE DSG allocations (high needs block) and SEN2 EHC plans; sendlib")
