#!/usr/bin/perl
# Generate t/TEST from t/TEST.PL with the given Apache::Test options baked
# in (e.g. -apxs /usr/bin/apxs). Run from the top of the source tree.
use strict;
use warnings;
use Apache::TestMM qw(test clean);

Apache::TestMM::filter_args();
Apache::TestMM::generate_script('t/TEST');
