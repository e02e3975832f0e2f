"""Helpers and fixtures the tests share (never tests themselves): every test imports
product code and these, never another test module."""
