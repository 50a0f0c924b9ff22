"""The rule language of CivicRules: facts, rule documents, validation, compilation, explanation.

Nothing here touches a database, Flask or durable_rules: a rule document goes in, a verdict,
a durable_rules definition or an explanation comes out.
"""
from rules.facts import FACTS, Fact
from rules.document import validate_rule, Catalog
from rules.problems import InputError, Problem
from rules.compiler import compile_rule, compile_ruleset, negation_normal_form, CompiledRuleset
from rules.twin import explain, matches

__all__ = [
    "FACTS", "Fact", "Problem", "InputError", "validate_rule", "Catalog",
    "compile_rule", "compile_ruleset", "negation_normal_form", "CompiledRuleset",
    "explain", "matches",
]
