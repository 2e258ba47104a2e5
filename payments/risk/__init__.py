"""Risk scoring: explainable rules plus an anomaly model trained on the merchant's own history.

`features` turns transactions into numbers (one pass over a time-ordered history, the same code for
one new transaction and for a whole training set), `rules` turns numbers into reasons with points,
`model` wraps the IsolationForest, and `services` ties them to RiskAssessment, RiskPolicy and the hold
on ERP posting."""
