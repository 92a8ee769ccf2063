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
area = "E92000001"
