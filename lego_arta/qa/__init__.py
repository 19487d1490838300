"""Dataset quality assurance, as in the study (§5, §6.1, §8.3): people rate sampled pairs, we measure them.

``questionnaire`` writes the browser questionnaire (``lego-arta qa make``); ``formats`` reads and
validates items.json and ratings files; ``agreement`` holds the agreement statistics (the field's
libraries: statsmodels, scikit-learn, krippendorff); ``scoring`` turns ratings into qa_scores.json,
flagged.json and the report (``lego-arta qa score``). ``criteria`` declares what is rated. The
package sits at the evaluation layer: it reads built folders and never touches the build itself
(``lego-arta build --exclude flagged.json`` reads the flagged file).
"""
